"""The front matter of a content page, typed and validated (unknown keys are errors).

YAML 1.1 (what PyYAML reads) turns unquoted `no`, `yes`, `on` and `off` into booleans and
`12:30` into the number 750. Every text field is a strict string, so such a value is refused
with a hint instead of silently becoming `False` or `750` on the site.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from portal.core.clock import AMSTERDAM

LANGUAGES = ("nl", "en")
MENU_NAMES = ("main", "footer")
FAQ_CATEGORIES = ("ambassador", "school", "company")
HOME_SLUG = "index"

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ANCHOR_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
ALIAS_PATTERN = r"^/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*$"

Text = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[StrictStr, StringConstraints(pattern=SLUG_PATTERN, max_length=80)]
AnchorId = Annotated[StrictStr, StringConstraints(pattern=ANCHOR_PATTERN, max_length=60)]
AliasPath = Annotated[StrictStr, StringConstraints(pattern=ALIAS_PATTERN, max_length=300)]


def _moment(value: Any) -> Any:
    """A date or date-time; without an offset it is Amsterdam time (a date means midnight)."""
    if isinstance(value, bool) or isinstance(value, int | float):
        raise ValueError("expected a date such as 2026-09-01 or 2026-09-01T09:00:00+02:00")
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("expected a date such as 2026-09-01 or 2026-09-01T09:00:00+02:00") from None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=AMSTERDAM)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0, 0), tzinfo=AMSTERDAM)
    return value


def _day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("expected a date such as 2027-01-31") from None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


Moment = Annotated[dt.datetime, BeforeValidator(_moment)]
Day = Annotated[dt.date, BeforeValidator(_day)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MenuEntry(Strict):
    title: Text | None = Field(None, max_length=60, description="shorter label for the menu")
    weight: StrictInt | None = Field(None, description="order in the menu (default: the page's weight)")


class FaqItem(Strict):
    id: AnchorId = Field(description="stable anchor, the same in every language")
    question: Text = Field(max_length=200)
    answer: Text = Field(description="markdown")


class FaqCategory(Strict):
    id: Literal["ambassador", "school", "company"]
    title: Text = Field(max_length=80)
    items: list[FaqItem] = Field(min_length=1)


class SourceRef(Strict):
    """Where the figures, addresses and names on a page come from (see `portal content check`)."""

    ref: Text = Field(max_length=300, description="a file of the project (portal/config.py), a shared note "
                                                   "(../shared/domain.md) or a web address")
    backs: list[Text] = Field(default_factory=list, description="the figures, addresses, URLs and legal names on "
                                                                "this page that the source states, as written")


class FrontMatter(Strict):
    """Every key a page may have; anything else is a mistake."""

    title: Text = Field(max_length=120)
    summary: Text = Field(max_length=320, description="teaser and meta description")
    slug: Slug | None = Field(None, description="the address in this language (default: the file name)")
    draft: StrictBool = False
    publishDate: Moment | None = None
    expiryDate: Moment | None = None
    lastmod: Moment | None = None
    weight: StrictInt = 0
    menus: list[Literal["main", "footer"]] | dict[Literal["main", "footer"], MenuEntry] = Field(default_factory=dict)
    aliases: list[AliasPath] = Field(default_factory=list, description="old addresses that answer 301")
    translationKey: Slug | None = Field(None, description="links translations (default: the file name)")
    owner: Text | None = Field(None, max_length=80, description="who answers for the facts")
    reviewBy: Day | None = Field(None, description="check the facts again by this date")
    faq: list[FaqCategory] = Field(default_factory=list, description="questions and answers by category")
    sources: list[SourceRef] = Field(default_factory=list, description="what backs each figure, address and name")

    @field_validator("menus")
    @classmethod
    def _menus_as_dict(cls, value):
        if isinstance(value, list):
            if len(set(value)) != len(value):
                raise ValueError("a menu is named twice")
            return {name: MenuEntry() for name in value}
        return value

    @field_validator("aliases")
    @classmethod
    def _unique_aliases(cls, value):
        normalised = [normalise_path(v) for v in value]
        if len(set(normalised)) != len(normalised):
            raise ValueError("an alias is listed twice")
        return normalised

    @model_validator(mode="after")
    def _window(self):
        if self.publishDate and self.expiryDate and self.expiryDate <= self.publishDate:
            raise ValueError("expiryDate must be after publishDate")
        if self.faq:
            categories = [c.id for c in self.faq]
            if len(set(categories)) != len(categories):
                raise ValueError("a FAQ category appears twice")
            ids = [item.id for c in self.faq for item in c.items]
            doubles = sorted({i for i in ids if ids.count(i) > 1})
            if doubles:
                raise ValueError(f"FAQ ids must be unique: {', '.join(doubles)}")
        return self


def normalise_path(path: str) -> str:
    """`/Oud/Pad/` and `/Oud/Pad` are one address; `/` stays `/`."""
    return path.rstrip("/") or "/"


def yaml_hint(error: dict) -> str:
    """Say what YAML did when a text or date field received a boolean or a number."""
    value = error.get("input")
    if isinstance(value, bool):
        return (" (YAML reads unquoted yes/no/on/off/true/false as a boolean: put the text in quotes,"
                " e.g. \"no\")")
    if isinstance(value, int | float) and error.get("type", "").startswith(("string", "literal", "value_error")):
        return (" (YAML reads unquoted 12:30 as the number 750 and 1.10 as 1.1: put the text in quotes,"
                " e.g. \"12:30\")")
    return ""
