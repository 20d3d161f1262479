"""A deterministic CMiC export generator: the demo data and the benchmarks' data.

The same seed and parameters always give byte-identical files, so the committed demo export can
be checked against the generator in the tests.
"""

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from erpsync.connectors.cmic.mapping import RESOURCES

COMPANY_CODE = "DB01"
AS_OF = date(2026, 11, 20)

# Jobs whose problems block import, for the demo to show.
JOB_WITHOUT_CATEGORY = "25118"
JOB_WITH_DOT_CODES = "25121"
JOB_COLLIDING_WITH_PROJECT = "25124"
LARGE_JOB = "25130"

DIVISIONS = [
    ("01", "General Requirements"), ("02", "Site Construction"), ("03", "Concrete"), ("04", "Masonry"),
    ("05", "Metals"), ("06", "Wood and Plastics"), ("07", "Thermal and Moisture Protection"),
    ("08", "Doors and Windows"), ("09", "Finishes"), ("10", "Specialties"), ("11", "Equipment"),
    ("12", "Furnishings"), ("13", "Special Construction"), ("14", "Conveying Systems"),
    ("15", "Mechanical"), ("16", "Electrical"),
]
SECTION_WORDS = [
    "Supervision", "Temporary Facilities", "Layout", "Excavation", "Backfill", "Formwork", "Reinforcing",
    "Cast-in-Place", "Precast", "Unit Masonry", "Structural Steel", "Misc. Metals", "Rough Carpentry",
    "Millwork", "Waterproofing", "Insulation", "Roofing", "Doors and Frames", "Glazing", "Drywall",
    "Flooring", "Painting", "Toilet Accessories", "Signage", "Kitchen Equipment", "Casework",
    "Elevators", "Plumbing", "HVAC", "Fire Protection", "Power", "Lighting", "Low Voltage",
]
CATEGORIES = [("1000", "Labor"), ("2000", "Material"), ("3000", "Subcontract"), ("4000", "Equipment"), ("5000", "Other")]
PLACES = [
    ("Boston", "MA", "02110"), ("Hartford", "CT", "06103"), ("Providence", "RI", "02903"),
    ("Albany", "NY", "12207"), ("Newark", "NJ", "07102"), ("Philadelphia", "PA", "19103"),
    ("Baltimore", "MD", "21202"), ("Richmond", "VA", "23219"),
]
STREETS = ["Main St", "Harbor Way", "Industrial Pkwy", "Elm St", "Commerce Dr", "Mill Rd", "Summit Ave"]
KINDS = ["Office Building", "Medical Center", "Elementary School", "Warehouse", "Parking Garage",
         "Apartments", "Fire Station", "Library Renovation", "Lab Fit-Out", "Retail Center"]
STATUSES = ["Pending", "In Progress", "In Progress", "In Progress", "Closed"]


@dataclass(frozen=True)
class Plan:
    seed: int = 2026
    control_jobs: int = 42
    sub_jobs: int = 6
    sections_per_job: tuple[int, int] = (8, 30)
    large_job_phases: int = 2000
    categories_per_phase: tuple[int, int] = (1, 4)
    transactions_per_line: tuple[int, int] = (0, 4)
    problem_jobs: bool = True
    large_job_only: bool = False  # benchmarks: just the large job


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)).scaleb(-2)


class _Writer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.files = {}
        self.writers = {}

    def row(self, entity: str, values: dict) -> None:
        if entity not in self.writers:
            # Demo Builders' tenant keeps audit dates on its jobs only (the other resources are read in full).
            attrs = {f: a for f, a in RESOURCES[entity].attributes.items() if f != "updated_at" or entity == "jobs"}
            handle = open(self.folder / f"{RESOURCES[entity].name}.csv", "w", newline="", encoding="utf-8")
            self.files[entity] = handle
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(attrs.values())
            self.writers[entity] = (writer, list(attrs))
        writer, fields = self.writers[entity]
        writer.writerow(["" if values.get(f) is None else values[f] for f in fields])

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def generate(folder: Path, plan: Plan = Plan()) -> dict:
    """Write the export files into `folder`; return counts of what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(plan.seed)
    out = _Writer(folder)
    counts = {"jobs": 0, "cost_codes": 0, "budget_lines": 0, "cost_transactions": 0}
    try:
        for code, name in CATEGORIES:
            out.row("cost_types", {"company_code": COMPANY_CODE, "code": code, "name": name, "parent_code": "ALL"})
        jobs = _jobs(rng, plan)
        trn = 0
        for job in jobs:
            out.row("jobs", job["row"])
            counts["jobs"] += 1
            for phase in job["phases"]:
                out.row("cost_codes", {"company_code": COMPANY_CODE, "job_code": job["code"], **phase["row"]})
                counts["cost_codes"] += 1
                for cat in phase["categories"]:
                    budget = _money(rng, 2_000, 250_000)
                    changes = _money(rng, 0, 20_000) if rng.random() < 0.3 else Decimal("0.00")
                    out.row("budget_lines", {
                        "company_code": COMPANY_CODE, "job_code": job["code"], "phase_code": phase["row"]["code"],
                        "category_code": cat, "active": "Y", "original_budget": budget, "approved_changes": changes,
                        "budget_units": Decimal(rng.randrange(0, 5000)), "committed_cost": (budget * Decimal(rng.randrange(0, 90)) / 100).quantize(Decimal("0.01")),
                        "percent_complete": Decimal(rng.randrange(0, 100)),
                    })
                    counts["budget_lines"] += 1
                    for _ in range(rng.randint(*plan.transactions_per_line)):
                        trn += 1
                        amount = (budget * Decimal(rng.randrange(1, 2000)) / 10000).quantize(Decimal("0.01"))
                        if rng.random() < 0.04:
                            amount = -amount  # a reversal
                        posted = job["start"] + timedelta(days=rng.randrange(0, max(1, (AS_OF - job["start"]).days)))
                        out.row("cost_transactions", {
                            "company_code": COMPANY_CODE, "job_code": job["code"], "phase_code": phase["row"]["code"],
                            "category_code": cat, "number": f"T{trn:08d}", "posted_on": posted.isoformat(), "amount": amount,
                            "units": Decimal(rng.randrange(0, 80)), "source": rng.choice(["AP", "PR", "JC", "EQ"]),
                            "reference": f"{rng.choice(['INV', 'PR', 'JE'])}-{rng.randrange(10000, 99999)}",
                        })
                        counts["cost_transactions"] += 1
    finally:
        out.close()
    return counts


def _phases(rng: random.Random, sections: int) -> list[dict]:
    """Division headings ("03") over sections ("03-300"); sections get categories later."""
    phases = []
    divisions = sorted(rng.sample(DIVISIONS, k=min(len(DIVISIONS), max(2, sections // 3))))
    per_division = max(1, sections // len(divisions))
    for div_code, div_name in divisions:
        phases.append({"row": {"code": div_code, "name": div_name, "parent_code": "ALL", "active": "Y"}, "categories": []})
        for number in sorted(rng.sample(range(100, 990, 10), k=per_division)):
            code = f"{div_code}-{number}"
            phases.append({"row": {"code": code, "name": rng.choice(SECTION_WORDS), "parent_code": div_code, "active": "Y"}, "categories": None})
    return phases


def _large_phases(rng: random.Random, leaves: int) -> list[dict]:
    phases = []
    per_division = -(-leaves // len(DIVISIONS))
    made = 0
    for div_code, div_name in DIVISIONS:
        phases.append({"row": {"code": div_code, "name": div_name, "parent_code": "ALL", "active": "Y"}, "categories": []})
        in_division = min(per_division, leaves - made)
        sections = -(-in_division // 20)
        for s in range(sections):
            section = f"{div_code}-{100 + s * 10}"
            phases.append({"row": {"code": section, "name": rng.choice(SECTION_WORDS), "parent_code": div_code, "active": "Y"}, "categories": []})
            for item in range(min(20, in_division - s * 20)):
                code = f"{section}-{(item + 1) * 5:03d}"
                phases.append({"row": {"code": code, "name": f"{rng.choice(SECTION_WORDS)} item {item + 1}", "parent_code": section, "active": "Y"}, "categories": None})
                made += 1
    return phases


def _pick_categories(rng: random.Random, plan: Plan) -> list[str]:
    k = rng.randint(*plan.categories_per_phase)
    return sorted(rng.sample([c for c, _ in CATEGORIES], k=min(k, len(CATEGORIES))))


def _jobs(rng: random.Random, plan: Plan) -> list[dict]:
    jobs = []
    codes = [f"25{101 + i:03d}" for i in range(plan.control_jobs)]
    if plan.large_job_only:
        codes = [LARGE_JOB]
    for index, code in enumerate(codes):
        city, state, zip_code = rng.choice(PLACES)
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 1000))
        end = start + timedelta(days=rng.randrange(180, 900))
        name = f"{city} {rng.choice(KINDS)}"
        if code == LARGE_JOB and plan.large_job_phases:
            phases = _large_phases(rng, plan.large_job_phases)
            name = f"{city} Regional Hospital"
        else:
            phases = _phases(rng, rng.randint(*plan.sections_per_job))
        for phase in phases:
            if phase["categories"] is None:
                phase["categories"] = _pick_categories(rng, plan)
        if plan.problem_jobs and code == JOB_WITHOUT_CATEGORY:
            leaves = [p for p in phases if p["row"]["parent_code"] != "ALL"]
            for phase in leaves[1:4]:
                phase["categories"] = []
        if plan.problem_jobs and code == JOB_WITH_DOT_CODES:
            for phase in phases:
                phase["row"]["code"] = phase["row"]["code"].replace("-", ".")
                if phase["row"]["parent_code"] != "ALL":
                    phase["row"]["parent_code"] = phase["row"]["parent_code"].replace("-", ".")
        jobs.append({
            "code": code,
            "start": start,
            "phases": phases,
            "row": {
                "company_code": COMPANY_CODE, "job_code": code, "name": name, "controlling_code": "ALL",
                "status": rng.choice(STATUSES), "address": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
                "city": city, "state": state, "zip": zip_code, "start_date": start.isoformat(), "end_date": end.isoformat(),
                "updated_at": f"{start.isoformat()}T08:00:00-05:00",
            },
        })
        if index < plan.sub_jobs and code not in (LARGE_JOB, JOB_WITHOUT_CATEGORY, JOB_WITH_DOT_CODES, JOB_COLLIDING_WITH_PROJECT):
            sub_code = f"{code}-01"
            sub_phases = _phases(rng, rng.randint(3, 8))
            for phase in sub_phases:
                if phase["categories"] is None:
                    phase["categories"] = _pick_categories(rng, plan)
            jobs.append({
                "code": sub_code,
                "start": start,
                "phases": sub_phases,
                "row": {**jobs[-1]["row"], "job_code": sub_code, "name": f"{name} - Site Work", "controlling_code": code},
            })
    return jobs
