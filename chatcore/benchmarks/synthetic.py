"""A company of any size, in the legacy document schema, for benchmarks: Turkish and English
employees, departments, projects and procedures (long, sectioned, some HR-only), the same for
the same ``seed``. About 1.6 passages a document in each view: one for a person, a department
or a project, about seven for a procedure."""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST = (
    "Ayşe Mehmet Fatma Ahmet Zeynep Mustafa Elif Emre Can Deniz Ece Burak Selin Kerem Merve Oğuz Pınar Serkan "
    "Gökhan Hande İlker Şule Tolga Ülkü Çağrı Gizem Barış Nazlı Onur Yasemin Hakan Derya Cem Esra Kaan Melis "
    "Umut Sibel Volkan İrem John Sarah Michael Emma David Laura James Anna Peter Olivia"
).split()
LAST = (
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Kara Koç "
    "Kurt Özkan Şimşek Polat Güneş Tekin Bulut Kaplan Turan Güler Erdoğan Aksoy Uçar Smith Brown Miller Wilson "
    "Taylor Clark"
).split()
TITLES = [
    "Yazılım Mühendisi",
    "Kıdemli Yazılım Mühendisi",
    "Backend Takım Lideri",
    "Veri Analisti",
    "Software Engineer",
    "Senior Software Engineer",
    "Product Manager",
    "Ürün Yöneticisi",
    "DevOps Engineer",
    "İK Uzmanı",
    "HR Business Partner",
    "Finans Uzmanı",
    "Accountant",
    "Satış Temsilcisi",
    "Key Account Manager",
    "QA Engineer",
    "Test Uzmanı",
    "UX Designer",
    "Tasarımcı",
    "Data Scientist",
    "Güvenlik Uzmanı",
    "Security Engineer",
    "Destek Uzmanı",
    "Customer Success Manager",
    "Mobil Geliştirici",
]
SKILLS = [
    "Python",
    "Django",
    "Kafka",
    "PostgreSQL",
    "Java",
    "Spring Boot",
    "React",
    "TypeScript",
    "Kubernetes",
    "Docker",
    "Terraform",
    "AWS",
    "Azure",
    "Go",
    "Rust",
    "SQL",
    "Power BI",
    "Excel",
    "SAP",
    "Figma",
    "Mikroservis mimarisi",
    "Makine öğrenmesi",
    "Veri modelleme",
    "Muhasebe",
    "Bordro",
    "İşe alım",
    "Müzakere",
    "Proje yönetimi",
    "Scrum",
    "ISO 27001",
    "Penetrasyon testi",
    "Swift",
    "Kotlin",
    "Redis",
    "Elasticsearch",
    "Airflow",
    "Spark",
    "GraphQL",
    "Selenium",
    "Linux",
]
CITIES = ["İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Eskişehir", "Kocaeli", "Remote", "London", "Berlin"]
AREAS = [
    ("Yazılım Geliştirme", "Software Development"),
    ("İnsan Kaynakları", "Human Resources"),
    ("Finans", "Finance"),
    ("Satış", "Sales"),
    ("Müşteri Başarısı", "Customer Success"),
    ("Bilgi Güvenliği", "Information Security"),
    ("Veri ve Analitik", "Data and Analytics"),
    ("Operasyon", "Operations"),
    ("Ürün Yönetimi", "Product Management"),
    ("Hukuk", "Legal"),
]
PROJECT_WORDS = [
    "Atlas",
    "Kervan",
    "Pusula",
    "Kalkan",
    "Meltem",
    "Poyraz",
    "Yakamoz",
    "Martı",
    "Çınar",
    "Lodos",
    "Orion",
    "Nova",
    "Vega",
    "Delta",
    "Kuzey",
    "Güney",
    "Ada",
    "Liman",
    "Köprü",
    "Rota",
    "Zirve",
    "Fener",
    "Nehir",
    "Dalga",
    "Işık",
    "Anka",
    "Tulpar",
    "Sirius",
    "Polaris",
    "Helix",
]
PROJECT_KINDS = [
    ("Müşteri Portalı", "Customer Portal"),
    ("Rota Optimizasyonu", "Route Optimisation"),
    ("Veri Ambarı", "Data Warehouse"),
    ("Mobil Uygulama", "Mobile App"),
    ("Ödeme Altyapısı", "Payments Platform"),
    ("Sertifikasyon", "Certification"),
    ("İK Otomasyonu", "HR Automation"),
    ("Raporlama", "Reporting"),
    ("Bulut Göçü", "Cloud Migration"),
]
TR_SENTENCES = [
    "Bu çalışma {area} biriminin {year} hedefleri kapsamında yürütülür.",
    "Ekip haftalık olarak ilerlemeyi {city} ofisinde değerlendirir.",
    "Sistem {skill} ve {skill2} üzerine kuruludur; canlıya geçiş aşamalı yapılır.",
    "Müşteri geri bildirimleri her sprint sonunda önceliklendirilir.",
    "Talepler İK Portalı üzerinden açılır ve yönetici onayı {days} iş günü içinde verilir.",
    "Masraflar ay sonuna kadar finans birimine fişleriyle birlikte iletilir.",
    "Bilgi güvenliği olayları en geç {hours} saat içinde bildirilmelidir.",
    "Yıllık izin bakiyesi her yıl {month} ayında güncellenir.",
    "Uzaktan çalışma haftada {days} güne kadar, ekip takvimine işlenerek yapılabilir.",
    "Yeni başlayanlar ilk hafta oryantasyon programına katılır ve ekipmanlarını teslim alır.",
    "Sözleşmeler imzadan önce hukuk biriminin onayından geçer.",
    "Performans değerlendirmeleri yılda iki kez, {month} ve Aralık aylarında yapılır.",
]
EN_SENTENCES = [
    "The work supports the {area} team's goals for {year}.",
    "Progress is reviewed every week in the {city} office.",
    "The system is built on {skill} and {skill2}; releases go live in stages.",
    "Customer feedback is prioritised at the end of every sprint.",
    "Requests are opened in the HR portal and approved by the manager within {days} working days.",
    "Expenses are submitted with receipts to finance before the end of the month.",
    "Security incidents must be reported within {hours} hours.",
    "Annual leave balances are updated every year in {month_en}.",
    "Remote work is allowed up to {days} days a week, recorded in the team calendar.",
    "New joiners attend the onboarding programme in their first week and collect their equipment.",
    "Contracts are reviewed by legal before they are signed.",
    "Performance reviews happen twice a year, in {month_en} and December.",
]
TOPICS = [
    ("Yıllık İzin", "Annual Leave"),
    ("Masraf İadesi", "Expense Reimbursement"),
    ("Uzaktan Çalışma", "Remote Work"),
    ("Bilgi Güvenliği Olay Bildirimi", "Security Incident Reporting"),
    ("İşe Başlangıç", "Onboarding"),
    ("İşten Ayrılış", "Offboarding"),
    ("İş Seyahati", "Business Travel"),
    ("Eğitim Bütçesi", "Training Budget"),
    ("Ekipman Talebi", "Equipment Request"),
    ("Fazla Mesai", "Overtime"),
    ("Parola Politikası", "Password Policy"),
    ("Performans Değerlendirme", "Performance Review"),
]
MONTHS = ["Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]


@dataclass
class SyntheticDocument:
    key: str
    doc_type: str
    title: str
    body: dict
    visibility: str = "staff"


class SyntheticCompany:
    def __init__(self, documents: int, *, seed: int = 7) -> None:
        self.total = documents
        self.rng = random.Random(seed)
        self.departments = max(3, min(60, documents // 400))
        self.projects = max(1, documents // 10)
        self.procedures = max(1, documents // 10)
        self.employees = max(1, documents - self.departments - self.projects - self.procedures)

    def _sentence(self, english: bool) -> str:
        rng = self.rng
        template = rng.choice(EN_SENTENCES if english else TR_SENTENCES)
        area = rng.choice(AREAS)
        skill, skill2 = rng.sample(SKILLS, 2)
        return template.format(
            area=area[1] if english else area[0],
            year=rng.randint(2022, 2027),
            city=rng.choice(CITIES),
            skill=skill,
            skill2=skill2,
            days=rng.randint(1, 10),
            hours=rng.choice([4, 8, 24, 48]),
            month=rng.choice(MONTHS),
            month_en=rng.choice(MONTHS_EN),
        )

    def _paragraph(self, english: bool, sentences: int) -> str:
        return " ".join(self._sentence(english) for _ in range(sentences))

    def documents(self):
        """The documents, departments first (so a link always names an earlier one)."""
        rng = self.rng
        for n in range(1, self.departments + 1):
            tr, en = AREAS[(n - 1) % len(AREAS)]
            suffix = f" {1 + (n - 1) // len(AREAS)}" if n > len(AREAS) else ""
            yield SyntheticDocument(
                f"D{n:04d}",
                "department",
                f"{tr}{suffix} ({en})",
                {
                    "id": f"D{n:04d}",
                    "name": f"{tr}{suffix} ({en})",
                    "head_id": f"E{rng.randint(1, self.employees):06d}",
                    "location": rng.choice(CITIES),
                    "description": self._paragraph(rng.random() < 0.5, 3),
                    "budget": rng.randrange(500_000, 9_000_000, 50_000),
                },
            )
        for n in range(1, self.employees + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            yield SyntheticDocument(
                f"E{n:06d}",
                "employee",
                f"{first} {last}",
                {
                    "id": f"E{n:06d}",
                    "first_name": first,
                    "last_name": last,
                    "title": rng.choice(TITLES),
                    "department_id": f"D{rng.randint(1, self.departments):04d}",
                    "manager_id": f"E{rng.randint(1, max(1, n - 1)):06d}" if n > 1 else None,
                    "email": f"{first.lower()}.{last.lower()}{n}@example.com",
                    "phone": f"+90 532 {n:07d}",
                    "location": rng.choice(CITIES),
                    "start_date": f"{rng.randint(2010, 2026)}-{rng.randint(1, 12):02d}-01",
                    "skills": rng.sample(SKILLS, rng.randint(2, 5)),
                    "languages": ["tr", "en"][: rng.randint(1, 2)],
                    "salary": rng.randrange(40_000, 250_000, 1000),
                    "national_id": f"{rng.randrange(10**10, 10**11)}",
                },
            )
        for n in range(1, self.projects + 1):
            tr, en = rng.choice(PROJECT_KINDS)
            english = rng.random() < 0.5
            name = f"{rng.choice(PROJECT_WORDS)} {en if english else tr} {n}"
            members = [f"E{rng.randint(1, self.employees):06d}" for _ in range(rng.randint(2, 6))]
            yield SyntheticDocument(
                f"P{n:05d}",
                "project",
                name,
                {
                    "id": f"P{n:05d}",
                    "name": name,
                    "code": f"PRJ{n}",
                    "status": rng.choice(["active", "planned", "done"]),
                    "department_id": f"D{rng.randint(1, self.departments):04d}",
                    "lead_id": members[0],
                    "members": sorted(set(members)),
                    "start_date": f"{rng.randint(2020, 2026)}-01-15",
                    "tech_stack": rng.sample(SKILLS, 3),
                    "description": self._paragraph(english, rng.randint(6, 16)),
                },
            )
        for n in range(1, self.procedures + 1):
            tr, en = rng.choice(TOPICS)
            english = rng.random() < 0.4
            title = f"{en if english else tr} ({n})"
            sections = "\n\n".join(
                f"## {'Section' if english else 'Bölüm'} {s}\n\n{self._paragraph(english, rng.randint(4, 8))}"
                for s in range(1, rng.randint(3, 7))
            )
            yield SyntheticDocument(
                f"PR{n:05d}",
                "procedure",
                title,
                {
                    "id": f"PR{n:05d}",
                    "title": title,
                    "category": rng.choice(["HR", "IT", "Finance", "Security"]),
                    "owner_department_id": f"D{rng.randint(1, self.departments):04d}",
                    "version": "1.0",
                    "effective_date": "2025-01-01",
                    "summary": self._sentence(english),
                    "steps": [self._sentence(english) for _ in range(rng.randint(3, 7))],
                    "content": sections,
                },
                "hr" if rng.random() < 0.1 else "staff",
            )


__all__ = ["SyntheticCompany", "SyntheticDocument"]
