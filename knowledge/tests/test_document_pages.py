from __future__ import annotations


def test_it_hides_salary_national_id_and_phone_from_employees(client, alice, company):
    client.force_login(alice)
    response = client.get("/documents/E1/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ayşe Yılmaz" in html and "Python" in html
    for secret in ("85000", "12345678901", "+90 532 111 2233", "Salary", "National ID"):
        assert secret not in html


def test_hr_sees_the_sensitive_fields(client, hr_user, company):
    client.force_login(hr_user)
    html = client.get("/documents/E1/").content.decode()
    for value in ("85000", "12345678901", "+90 532 111 2233"):
        assert value in html


def test_it_hides_the_department_budget_from_employees(client, alice, company):
    client.force_login(alice)
    assert "900000" not in client.get("/documents/D1/").content.decode()


def test_links_resolve_to_the_related_documents(client, alice, company):
    client.force_login(alice)
    html = client.get("/documents/E1/").content.decode()
    assert 'href="/documents/D1/"' in html and "Yazılım" in html
    assert 'href="/documents/E2/"' in html and "Emre Şahin" in html


def test_a_department_lists_its_employees_and_a_manager_their_reports(client, alice, company, english):
    client.force_login(alice)
    department = client.get("/documents/D1/").content.decode()
    assert "Employees" in department and 'href="/documents/E1/"' in department
    manager = client.get("/documents/E2/").content.decode()
    assert "Direct reports" in manager and "Leads projects" in manager and 'href="/documents/P1/"' in manager


def test_procedure_markdown_is_rendered_and_sanitized(client, alice, company):
    company["PR1"].body["content"] = "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"
    company["PR1"].save()
    client.force_login(alice)
    html = client.get("/documents/PR1/").content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)</script>" not in html and "javascript:" not in html


def test_an_unknown_key_is_a_404_page(client, alice, company, english):
    client.force_login(alice)
    response = client.get("/documents/NOPE/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_an_hr_only_document_is_404_for_employees(client, alice, hr_user, company):
    client.force_login(alice)
    assert client.get("/documents/PR9/").status_code == 404
    assert "Bordro" not in client.get("/documents/").content.decode()
    client.force_login(hr_user)
    assert client.get("/documents/PR9/").status_code == 200


def test_anonymous_visitors_are_sent_to_login(client, company):
    response = client.get("/documents/E1/")
    assert response.status_code == 302 and response.url.startswith("/login/?next=")
    assert client.get("/documents/").status_code == 302


def test_the_document_index_filters_by_type(client, alice, company):
    client.force_login(alice)
    html = client.get("/documents/?type=employee").content.decode()
    assert "Zeynep Kaya" in html and "Kervan" not in html


def test_the_document_index_answers_htmx_with_the_results_partial(client, alice, company):
    client.force_login(alice)
    response = client.get("/documents/?type=project", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">') and "<html" not in html
