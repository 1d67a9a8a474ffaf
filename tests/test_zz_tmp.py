def test_x(app, loaded_course, db):
    from course.content.models import Lesson
    assert db.session.query(Lesson).count() == 6
