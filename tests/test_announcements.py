"""Announcements: an instructor previews and posts a message to their cohort; every active learner of it gets one
email (in their own language, unless they turned announcement emails off) and sees it on their outline until they
dismiss it. Sanitised everywhere; posted once however often the form is sent; only the cohort's instructors and
admins may post."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from conftest import FIXTURE_COURSE, do_login, new_client
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update

from course.accounts.models import User
from course.audit.models import AuditEntry
from course.clock import today
from course.cohorts import services as cohorts
from course.cohorts.announcement_models import Announcement, AnnouncementDismissal
from course.cohorts.announcements import check_draft, post_announcement
from course.cohorts.enrolment import enrol
from course.cohorts.errors import CohortError
from course.content.models import Course
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.messages import set_opted_out
from course.outbox.models import OutboxMessage
from course.privacy.deletion import delete_account

OUTLINE = f"/courses/{FIXTURE_COURSE}"
KEY = re.compile(r'name="submission_key"[^>]*value="([^"]+)"')
BODY = "Hello **everyone**.\n\n<script>alert('x')</script>\n\n[a trap](javascript:alert(1)) and [notes](https://example.com/notes)"


@dataclass
class World:
    cohort_id: int
    other_cohort_id: int
    ids: dict[str, int]
    clients: dict


@pytest.fixture
def world(app, loaded_course, make_user) -> World:
    """Cohort "Autumn" (instructor Ines) with Li (Chinese), Ann (English), Otto (announcement emails off) and Dora
    (account disabled); cohort "Winter" (instructor Walt) with Wen; an admin."""
    users = {
        "ines": make_user(email="ines@example.com", role="instructor", name="Ines Instructor"),
        "walt": make_user(email="walt@example.com", role="instructor", name="Walt Other"),
        "admin": make_user(email="admin@example.com", role="admin", name="Ada Admin"),
        "li": make_user(email="li@example.com", name="Li Lei"),
        "ann": make_user(email="ann@example.com", name="Ann English"),
        "otto": make_user(email="otto@example.com", name="Otto Optout"),
        "dora": make_user(email="dora@example.com", name="Dora Disabled"),
        "wen": make_user(email="wen@example.com", name="Wen Winter"),
    }
    ids = {name: user.id for name, user in users.items()}
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today() - timedelta(weeks=2)
        autumn = cohorts.create_cohort(
            course, cohorts.CohortSettings(name="Autumn", starts_on=start, ends_on=start + timedelta(weeks=10)),
            [ids["ines"]],
        )  # fmt: skip
        winter = cohorts.create_cohort(
            course, cohorts.CohortSettings(name="Winter", starts_on=start, ends_on=start + timedelta(weeks=10)),
            [ids["walt"]],
        )  # fmt: skip
        for name in ("li", "ann", "otto", "dora"):
            enrol(autumn, _db.session.get(User, ids[name]), check_window=False)
        enrol(winter, _db.session.get(User, ids["wen"]), check_window=False)
        _db.session.execute(update(User).where(User.id == ids["li"]).values(language="zh_Hans"))
        _db.session.execute(update(User).where(User.id == ids["ann"]).values(language="en"))
        set_opted_out(ids["otto"], Kind.ANNOUNCEMENT, True)
        _db.session.commit()
        cohort_id, other_id = autumn.id, winter.id
    clients = {"anon": new_client(app)}
    for name, user in users.items():
        if name == "dora":
            continue
        clients[name] = new_client(app)
        assert do_login(clients[name], user.email).status_code == 302
    with app.app_context():
        _db.session.execute(update(User).where(User.id == ids["dora"]).values(active=False))
        _db.session.commit()
    return World(cohort_id, other_id, ids, clients)


def page_url(world: World, cohort_id: int | None = None) -> str:
    return f"/cohorts/{cohort_id or world.cohort_id}/announcements"


def fresh_key(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return KEY.search(page.get_data(as_text=True)).group(1)


def send(client, url: str, key: str, button: str, title: str = "Week 3", body: str = BODY):
    return client.post(url, data={"title": title, "body": body, "submission_key": key, button: "y"})


def messages(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = _db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.to_address)).all()
        _db.session.expunge_all()
        return rows


def count(app, model) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(model))


def post(world: World, title: str = "Week 3", body: str = BODY, who: str = "ines"):
    client = world.clients[who]
    url = page_url(world)
    return send(client, url, fresh_key(client, url), "post", title, body)


# -- previewing and posting ------------------------------------------------------------------------------------
def test_preview_then_post_emails_exactly_the_cohorts_learners_in_their_languages(app, world):
    ines, url = world.clients["ines"], page_url(world)
    page = ines.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Post to 3 learners" in html  # Li, Ann, Otto: not Dora (disabled)
    assert "1 of them turned announcement emails off" in html
    key = KEY.search(html).group(1)

    preview = send(ines, url, key, "preview")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Preview: Week 3" in html and "Hello <strong>everyone</strong>." in html
    assert '<a href="https://example.com/notes" rel="noopener noreferrer">notes</a>' in html
    assert "<script" not in html  # in the textarea too, the source is escaped
    shown = html[html.index('<section class="card announcement-preview"') :]
    assert "&lt;script&gt;" in shown and 'href="javascript' not in shown  # raw HTML is text; no such link
    assert f'value="{key}"' in html  # the same form, to post after the preview
    assert count(app, Announcement) == 0 and messages(app) == []  # a preview posts and sends nothing

    posted = send(ines, url, key, "post")
    assert posted.status_code == 302 and posted.headers["Location"].endswith("#posted")
    flashed = ines.get(url).get_data(as_text=True)
    assert "Announcement posted: 3 learners see it on their course page. 2 emails are on their way." in flashed

    sent = messages(app)
    assert [(m.to_address, m.user_id, m.language) for m in sent] == [
        ("ann@example.com", world.ids["ann"], "en"),
        ("li@example.com", world.ids["li"], "zh_Hans"),
    ]
    with app.app_context():
        announcement_id = _db.session.scalar(select(Announcement.id))
    for message in sent:
        assert message.kind == str(Kind.ANNOUNCEMENT) and message.status == "sent"
        assert message.event_key == f"announcement:{announcement_id}:user:{message.user_id}"
        assert "Week 3" in message.subject and "Autumn" in message.subject
        assert "<script" not in message.html_body and 'href="javascript' not in message.html_body
        assert "Hello <strong>everyone</strong>." in message.html_body and "&lt;script&gt;" in message.html_body
        assert "Hello **everyone**." in message.text_body  # plain text: the Markdown as written, never markup
        assert "Ines Instructor" in message.text_body and "Autumn" in message.text_body
        assert message.unsubscribe_url  # an optional kind: it can be turned off
    ann, li = sent
    assert "Hello Ann English," in ann.text_body and '<html lang="en">' in ann.html_body
    with app.test_request_context(), force_locale("zh_Hans"):
        greeting = gettext("Hello %(name)s,", name="Li Lei")
    assert greeting in li.text_body and '<html lang="zh-Hans">' in li.html_body
    # The link in the email opens the learner's outline, where the announcement is.
    link = re.search(r"https?://\S+#announcements", li.text_body).group(0)
    outline = world.clients["li"].get(urlsplit(link).path)
    assert outline.status_code == 200 and "Week 3" in outline.get_data(as_text=True)
    # Nobody else: not Walt's learner, not Dora, not Otto, not the staff.
    assert world.ids["wen"] not in {m.user_id for m in sent}

    with app.app_context():
        entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "announcement posted"))
        assert (entry.actor_id, entry.cohort_id) == (world.ids["ines"], world.cohort_id)
        assert entry.details == {"announcement_id": announcement_id, "learners": 3, "emails": 2}
    assert "Announcement posted" in ines.get(f"/cohorts/{world.cohort_id}/activity").get_data(as_text=True)


def test_the_same_form_sent_twice_posts_once(app, world):
    ines, url = world.clients["ines"], page_url(world)
    key = fresh_key(ines, url)
    assert send(ines, url, key, "post").status_code == 302
    again = send(ines, url, key, "post")
    assert again.status_code == 302
    assert "This announcement was already posted." in ines.get(url).get_data(as_text=True)
    assert count(app, Announcement) == 1 and len(messages(app)) == 2
    # Sending the emails of the same announcement again writes nothing new either.
    with app.test_request_context(method="POST"):
        cohort = _db.session.get(cohorts.Cohort, world.cohort_id)
        author = _db.session.get(User, world.ids["ines"])
        assert post_announcement(cohort, author, check_draft("Week 3", BODY), key).created is False
        _db.session.commit()
    assert count(app, Announcement) == 1 and len(messages(app)) == 2


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "Some text", "Title: This field is required."),
        ("Week 3", "   ", "Message: This field is required."),
        ("x" * 201, "Some text", "Title: Field cannot be longer than 200 characters."),
        ("Week 3", "x" * 20_001, "Message: Field cannot be longer than 20000 characters."),
        ("Two\nlines", "Some text", "Title: Use letters, digits, spaces and punctuation only."),
    ],
)
def test_a_draft_that_cannot_be_posted_is_refused_at_its_field(app, world, title, body, message):
    ines, url = world.clients["ines"], page_url(world)
    for button in ("preview", "post"):
        response = send(ines, url, fresh_key(ines, url), button, title, body)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert count(app, Announcement) == 0 and messages(app) == []


def test_a_form_without_its_key_is_refused(app, world):
    ines, url = world.clients["ines"], page_url(world)
    response = ines.post(url, data={"title": "Week 3", "body": "Text", "post": "y"})
    assert response.status_code == 400 and "please reload the page" in response.get_data(as_text=True)
    assert count(app, Announcement) == 0


def test_the_service_checks_drafts_too():
    assert check_draft("  Week 3 ", "Text\r\n") == check_draft("Week 3", "Text")
    for title, body, field in [
        ("", "x", "title"),
        ("a\u2028b", "x", "title"),
        ("t", "", "body"),
        ("t" * 201, "x", "title"),
    ]:
        with pytest.raises(CohortError) as refused:
            check_draft(title, body)
        assert refused.value.field == field


# -- who may post ----------------------------------------------------------------------------------------------
def test_only_the_cohorts_instructors_and_admins_may_post(app, world):
    url = page_url(world)
    for who in ("walt", "li"):  # another cohort's instructor, a learner of this one
        client = world.clients[who]
        assert client.get(url).status_code == 404
        assert (
            client.post(url, data={"title": "Hi", "body": "x", "submission_key": "k", "post": "y"}).status_code == 404
        )
    assert world.clients["anon"].get(url).status_code == 302
    assert count(app, Announcement) == 0
    admin = world.clients["admin"]
    assert send(admin, url, fresh_key(admin, url), "post", "From the school").status_code == 302
    assert world.clients["walt"].get(page_url(world, world.other_cohort_id)).status_code == 200
    assert "From the school" in world.clients["ines"].get(url).get_data(as_text=True)  # the list of posted ones


def test_the_cohort_page_links_to_its_announcements(world):
    html = world.clients["ines"].get(f"/cohorts/{world.cohort_id}").get_data(as_text=True)
    assert f'href="{page_url(world)}"' in html


# -- on the learners' outline ----------------------------------------------------------------------------------
def test_the_outline_shows_it_until_the_learner_dismisses_it(app, world):
    assert post(world, "Week 3").status_code == 302
    assert post(world, "Week 4", "Newer **news**").status_code == 302
    with app.app_context():
        ids = dict(_db.session.execute(select(Announcement.title, Announcement.id)).all())
    for who in ("li", "ann", "otto"):  # Otto gets no email, but reads it here
        html = world.clients[who].get(OUTLINE).get_data(as_text=True)
        region = html[html.index('<section id="announcements"') :]
        assert 'aria-labelledby="announcements-title"' in region
        assert region.index("Week 4") < region.index("Week 3")  # newest first
        assert "Newer <strong>news</strong>" in region and "Ines Instructor" in region
        assert "<script" not in region and 'href="javascript' not in region and "&lt;script&gt;" in region
    assert 'By Ines Instructor · <time datetime="' in region and 'aria-label="Dismiss “Week 3”"' in region
    assert "Week 3" not in world.clients["wen"].get(OUTLINE).get_data(as_text=True)  # another cohort's

    ann = world.clients["ann"]
    dismissed = ann.post(f"/announcements/{ids['Week 3']}/dismiss")
    assert dismissed.status_code == 302 and dismissed.headers["Location"] == OUTLINE
    html = ann.get(OUTLINE).get_data(as_text=True)
    assert "Announcement dismissed." in html and "Week 4" in html and "Week 3" not in html
    assert ann.post(f"/announcements/{ids['Week 3']}/dismiss").status_code == 302  # again: nothing changes
    assert count(app, AnnouncementDismissal) == 1
    assert "Week 3" in world.clients["li"].get(OUTLINE).get_data(as_text=True)  # only for her

    assert ann.post(f"/announcements/{ids['Week 4']}/dismiss").status_code == 302
    assert 'id="announcements"' not in ann.get(OUTLINE).get_data(as_text=True)  # none left: no region


def test_a_learner_dismisses_only_their_own_cohorts_announcements(app, world):
    assert post(world).status_code == 302
    with app.app_context():
        announcement_id = _db.session.scalar(select(Announcement.id))
    for who in ("wen", "walt"):  # a learner of another cohort; an instructor in no cohort
        assert world.clients[who].post(f"/announcements/{announcement_id}/dismiss").status_code == 404
    assert world.clients["li"].post("/announcements/999999/dismiss").status_code == 404
    assert world.clients["anon"].post(f"/announcements/{announcement_id}/dismiss").status_code == 302
    assert count(app, AnnouncementDismissal) == 0


def test_deleting_accounts_keeps_the_announcement_without_its_author(app, world):
    assert post(world).status_code == 302
    with app.app_context():
        announcement_id = _db.session.scalar(select(Announcement.id))
    assert world.clients["ann"].post(f"/announcements/{announcement_id}/dismiss").status_code == 302
    with app.test_request_context(method="POST"):
        for name in ("ines", "ann"):
            user = _db.session.get(User, world.ids[name])
            delete_account(user, by=user)
        _db.session.commit()
    with app.app_context():
        assert _db.session.get(Announcement, announcement_id).author_id is None
    assert count(app, AnnouncementDismissal) == 0
    html = world.clients["li"].get(OUTLINE).get_data(as_text=True)
    assert "Week 3" in html and "Ines Instructor" not in html and "By " not in html
