from __future__ import annotations

from knowledge.doctypes import DOC_TYPES, get_doctype

EMPLOYEE = {
    "first_name": "Ayşe", "last_name": "Yılmaz", "title": "Engineer", "department_id": "D1",
    "email": "a@example.com", "phone": "+90 532", "salary": 85000, "national_id": "123",
    "skills": ["Python"], "badge": "A-12",
}


def test_sensitive_fields_are_declared_per_type():
    assert get_doctype("employee").sensitive_fields == {"salary", "national_id", "phone"}
    assert get_doctype("department").sensitive_fields == {"budget"}
    assert get_doctype("project").sensitive_fields == frozenset()
    assert get_doctype("procedure").sensitive_fields == frozenset()


def test_it_hides_salary_from_the_staff_view():
    schema = get_doctype("employee")
    staff = schema.visible_body(EMPLOYEE, hr=False)
    assert "salary" not in staff and "national_id" not in staff and "phone" not in staff
    assert staff["badge"] == "A-12"  # unknown extra fields are kept
    assert schema.visible_body(EMPLOYEE, hr=True)["salary"] == 85000


def test_the_staff_text_view_never_holds_a_sensitive_value():
    text = get_doctype("employee").as_text(EMPLOYEE, hr=False)
    assert "Ayşe Yılmaz" in text and "Engineer" in text
    for value in ("85000", "123", "+90 532"):
        assert value not in text
    assert "85000" in get_doctype("employee").as_text(EMPLOYEE, hr=True)


def test_a_valid_body_has_no_errors():
    assert get_doctype("employee").validate(EMPLOYEE) == {}


def test_missing_required_fields_are_named():
    errors = get_doctype("employee").validate({"first_name": "Ayşe"})
    assert set(errors) == {"last_name", "title", "department_id"}


def test_wrong_types_get_a_clear_message():
    body = dict(EMPLOYEE, salary="lots", skills="Python", start_date="2024-13-01")
    errors = get_doctype("employee").validate(body)
    assert errors["salary"] == ["Expected a number, got text."]
    assert errors["skills"] == ["Expected a list, got text."]
    assert "is not a date" in errors["start_date"][0]


def test_project_status_must_be_known():
    errors = get_doctype("project").validate({"name": "Atlas", "status": "done"})
    assert "is not one of" in errors["status"][0]


def test_a_procedure_needs_some_text():
    errors = get_doctype("procedure").validate({"title": "Boş"})
    assert "__all__" in errors
    assert get_doctype("procedure").validate({"title": "Dolu", "steps": ["Bir"]}) == {}


def test_links_are_listed_with_their_target_type():
    body = {"name": "Atlas", "status": "active", "lead_id": "E1", "members": ["E1", "E2"], "department_id": "D1"}
    links = [(spec.name, spec.target, key) for spec, key in get_doctype("project").links(body)]
    assert ("lead_id", "employee", "E1") in links
    assert ("members", "employee", "E2") in links
    assert ("department_id", "department", "D1") in links


def test_every_type_has_a_legacy_file_and_a_title():
    for doc_type in DOC_TYPES.values():
        assert doc_type.legacy_file.endswith(".json")
        assert doc_type.fields[0].required
