"""Dutch first, English second: locale selection and the language switch."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel
from flask_login import current_user

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

babel = Babel()


def select_locale() -> str:
    """A logged-in user's stored choice, then a visitor's choice, then Accept-Language."""
    if not has_request_context():  # the worker, the `portal` command: mails force their reader's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and getattr(current_user, "is_authenticated", False):
        acting_leader = g.get("acting_leader")  # set when current_user is loaded: the person at the screen
        return (acting_leader or current_user).language
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Amsterdam")
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def _language_from_link() -> None:
        # A link that carries ?lang= (the log-in link of an English page, say) is the visitor's choice.
        # In the JSON API `lang` only picks the language of the answer (public, shared, no cookie).
        wanted = request.args.get("lang")
        if (wanted in LANGUAGES and not request.path.startswith("/api/") and session.get("lang") != wanted
                and not getattr(current_user, "is_authenticated", False)):
            session["lang"] = wanted
