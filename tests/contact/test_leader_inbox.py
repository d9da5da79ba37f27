"""The project leader's inbox of contact messages: a list (newest first, paginated), the detail,
and the answer, which is mailed to the sender in the language of the form they used and written
to the audit log. Nobody else sees any of it."""

from __future__ import annotations

import datetime as dt
import html

from portal.contact import service
from portal.contact.models import ContactMessage
from portal.core.audit import AuditLog


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def send(name: str, *, language: str = "nl", email: str = "vera@vaart.example", question_type: str = "school",
         message: str = "Kan onze school meedoen?") -> ContactMessage:
    row, created = service.submit(service.Submission(
        name=name, organisation="OBS De Klimop", email=email, question_type=question_type, message=message,
        language=language, form_token=service.new_token()))
    assert created
    return row


def test_the_leader_sees_messages_newest_first_a_page_at_a_time(app, leader_client):
    with app.test_request_context():
        rows = [send(f"Afzender {n:02d}") for n in range(30)]
    start = dt.datetime(2026, 11, 1, 9, 0)
    for n, row in enumerate(rows):  # received a minute apart, in the order sent
        ContactMessage.update(received_at=start + dt.timedelta(minutes=n)).where(ContactMessage.id == row.id).execute()

    first = text(leader_client.get("/contact/leader"))
    assert "30 messages" in first and "Page 1 of 2" in first
    assert first.index("Afzender 29") < first.index("Afzender 28") < first.index("Afzender 05")
    assert "Afzender 04" not in first
    second = text(leader_client.get("/contact/leader?page=2"))
    assert "Afzender 04" in second and "Afzender 00" in second and "Afzender 29" not in second
    assert "School" in second  # the question type in words, in the leader's language


def test_the_leader_answers_and_the_sender_gets_the_reply_in_their_language(app, leader_client, leader, outbox):
    with app.test_request_context():
        dutch = send("Vera Vraag", language="nl", email="vera@vaart.example")
        english = send("Ann Asks", language="en", email="ann@example.com", question_type="donation",
                       message="How do we donate?")

    page = text(leader_client.get(f"/contact/leader/{dutch.id}"))
    assert "Kan onze school meedoen?" in page and "vera@vaart.example" in page and "OBS De Klimop" in page
    assert "Send the reply and mark as answered" in page

    empty = leader_client.post(f"/contact/leader/{dutch.id}/answer", data={"reply": "  "})
    assert empty.status_code == 422 and "This field is required." in text(empty)
    assert ContactMessage.get_by_id(dutch.id).status == "new"

    reply = "Beste Vera,\nJa, dat kan. Ik bel je volgende week."
    answered = leader_client.post(f"/contact/leader/{dutch.id}/answer", data={"reply": reply})
    assert answered.status_code == 303
    row = ContactMessage.get_by_id(dutch.id)
    assert (row.status, row.reply, row.answered_by_id) == ("answered", reply, leader.id)
    mail = outbox.last("vera@vaart.example")
    assert '<html lang="nl">' in mail.html
    assert "Ja, dat kan. Ik bel je volgende week." in mail.text and "> Kan onze school meedoen?" in mail.text
    audit = AuditLog.get(AuditLog.action == "contact.answered")
    assert (audit.actor_id, audit.object_type, audit.object_id) == (leader.id, "contact_message", str(dutch.id))

    detail = text(leader_client.get(f"/contact/leader/{dutch.id}"))
    assert "Ik bel je volgende week." in detail and "Send the reply" not in detail
    listing = text(leader_client.get("/contact/leader?status=answered"))
    assert "Vera Vraag" in listing and "Ann Asks" not in listing

    # Answered once: a second reply (another tab, a double click) is refused and mails nothing.
    again = leader_client.post(f"/contact/leader/{dutch.id}/answer", data={"reply": "Nog iets"})
    assert again.status_code == 422 and "This message has already been answered." in text(again)
    assert len(outbox.to("vera@vaart.example")) == 2  # the confirmation and the one reply
    assert ContactMessage.get_by_id(dutch.id).reply == reply

    leader_client.post(f"/contact/leader/{english.id}/answer", data={"reply": "Use the donation page."})
    mail = outbox.last("ann@example.com")
    assert '<html lang="en">' in mail.html and mail.subject == "Answer to your message"
    assert "Use the donation page." in mail.text and "Your message of" in mail.text


def test_the_leader_desk_shows_how_many_messages_wait(app, leader_client):
    assert "No messages waiting for an answer." in text(leader_client.get("/leader"))
    with app.test_request_context():
        send("Vera Vraag")
        send("Piet Post")
    assert "2 messages to answer" in text(leader_client.get("/leader"))


def test_company_users_and_visitors_cannot_see_the_inbox(app, client, make_company, login):
    with app.test_request_context():
        row = send("Vera Vraag", message="Geheim: ons budget")
    company = make_company("Acme", member=True)
    for user in (company.admin, company.member):
        browser = login(app.test_client(), user)
        for path in ("/contact/leader", f"/contact/leader/{row.id}"):
            response = browser.get(path)
            assert response.status_code == 404, (user.email, path)
            assert "Geheim" not in text(response)
        answer = browser.post(f"/contact/leader/{row.id}/answer", data={"reply": "Hallo"})
        assert answer.status_code == 404
    for path in ("/contact/leader", f"/contact/leader/{row.id}"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.post(f"/contact/leader/{row.id}/answer", data={"reply": "Hallo"}).status_code == 302
    assert ContactMessage.get_by_id(row.id).status == "new"


def test_an_unknown_message_is_not_found(leader_client):
    assert leader_client.get("/contact/leader/999").status_code == 404
    assert leader_client.post("/contact/leader/999/answer", data={"reply": "x"}).status_code == 404
