"""Sync History in plain words: each run and each audit event as one sentence, with jobs and projects as links."""

from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from erpsync.erp.models import AuditEvent, SyncRun, SyncRunKind, SyncRunOutcome

SHOWN = 12  # jobs named in one sentence before "and N more"


def _n(count, one: str, many: str | None = None) -> str:
    count = int(count or 0)
    return f"{intcomma(count)} {one if count == 1 else (many or one + 's')}"


def _job_link(code: str) -> SafeString:
    return format_html('<a class="code" href="{}">{}</a>', reverse("erp:job_by_code", args=[code]), code)


def _project_link(project) -> SafeString:
    return format_html('<a href="{}">{} {}</a>', reverse("projects:detail", args=[project.pk]), project.project_number, project.name)


def _jobs(codes: list[str]) -> SafeString:
    shown = format_html_join(", ", "{}", ((_job_link(c),) for c in codes[:SHOWN]))
    if len(codes) > SHOWN:
        return format_html("{} and {} more", shown, intcomma(len(codes) - SHOWN))
    return shown


def run_sentence(run: SyncRun) -> SafeString:
    """What the run did, or set out to do and why it did not."""
    c = run.counts or {}
    project = _project_link(run.project) if run.project_id else ""
    if run.outcome in (SyncRunOutcome.FAILED, SyncRunOutcome.INTERRUPTED):
        what = {SyncRunKind.REFRESH: "The refresh", SyncRunKind.IMPORT: "Adding the job",
                SyncRunKind.JOB_COSTS: "The job-cost sync", SyncRunKind.PUBLISH: "Publishing to Procore",
                SyncRunKind.LINK: "Linking the job", SyncRunKind.COST_CODES: "Refreshing the cost codes"}.get(run.kind, "The run")
        done = "failed" if run.outcome == SyncRunOutcome.FAILED else "was interrupted"
        return format_html("{}{} {}{}: {}", what, format_html(" of {}", project) if project else "", done,
                           "" if run.outcome == SyncRunOutcome.FAILED else " and changed nothing" if run.kind == SyncRunKind.REFRESH
                           else "", run.error or "no reason was recorded")
    if run.outcome in (SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING):
        return format_html("{}{}", run.progress_label or ("Waiting for a worker" if run.outcome == SyncRunOutcome.QUEUED
                                                            else "Running"), "…")
    if run.kind == SyncRunKind.REFRESH:
        how = "Read what changed" if c.get("incremental") else "Read everything"
        return format_html("{} from {}: {} ({} new, {} changed), {}, {}.", how, run.connection.name if run.connection_id else "the ERP",
                           _n(c.get("jobs"), "job"), intcomma(c.get("new", 0)), intcomma(c.get("changed", 0)),
                           _n(c.get("cost_codes"), "cost code"), _n(c.get("budget_lines"), "budget line"))
    if run.kind == SyncRunKind.IMPORT:
        if not c.get("created"):
            return format_html("{} was already a project; nothing was added.", project or "The job")
        job = run.job.job_code if run.job_id else (run.project.erp_job_code if run.project_id else "")
        return format_html("Added {} as project {} with {}, {} and {}{}.", _job_link(job) if job else "the job", project,
                           _n(c.get("cost_codes"), "cost code"), _n(c.get("budget_lines"), "budget line"),
                           _n(c.get("cost_transactions"), "cost transaction"),
                           format_html(" (and {})", _n(c.get("sub_jobs"), "sub job")) if c.get("sub_jobs") else "")
    if run.kind == SyncRunKind.JOB_COSTS:
        pushed = c.get("pushed_to_procore")
        return format_html("Synced the job costs of {}: {} changed, {} added{}.", project or "the project",
                           _n(c.get("job_costs_changed"), "job cost"), _n(c.get("cost_transactions_added"), "cost transaction"),
                           format_html("; {} sent to Procore", _n(pushed, "job cost")) if pushed else "")
    if run.kind == SyncRunKind.PUBLISH:
        return format_html("Published {} to Procore: {}, {}, {} ({}).", project or "the project", _n(c.get("cost_codes"), "cost code"),
                           _n(c.get("cost_type_assignments"), "cost type assignment"), _n(c.get("job_costs"), "job cost"),
                           _n(c.get("requests"), "request"))
    if run.kind == SyncRunKind.LINK:
        job = run.job.job_code if run.job_id else ""
        if c.get("linked_already"):
            return format_html("{} was linked to {} already (by another confirm); nothing changed.",
                               _job_link(job) if job else "The job", project or "the project")
        return format_html("Linked {} to {}: {} and {} added, {} renamed, {} already in the project now following the ERP; {} job cost{} changed.",
                           _job_link(job) if job else "the job", project or "the project", _n(c.get("cost_codes_added"), "cost code"),
                           _n(c.get("budget_lines_added"), "budget line"), _n(c.get("cost_codes_renamed"), "cost code"),
                           _n(c.get("budget_lines_taken_over"), "budget line"), intcomma(c.get("job_costs_changed", 0)),
                           "" if c.get("job_costs_changed") == 1 else "s")
    if run.kind == SyncRunKind.COST_CODES:
        return format_html("Refreshed the cost codes of {}{}: {} and {} added, {} renamed, {} made inactive.", project or "the project",
                           " (added after a refresh, as the settings ask)" if c.get("automatic") else "",
                           _n(c.get("cost_codes_added"), "cost code"), _n(c.get("budget_lines_added"), "budget line"),
                           intcomma(c.get("cost_codes_renamed", 0)), intcomma(c.get("cost_codes_made_inactive", 0)))
    return format_html("{}", run.get_kind_display())


def _type_changes(after: dict) -> SafeString:
    """"; the company's cost types: added M Material; renamed L Labour → Labor" from a link's or refresh's record."""
    added = ", ".join(f"{t['code']} {t['name']}" for t in after.get("cost_types_to_add") or [])
    renamed = ", ".join(f"{t['code']} {t['from']} → {t['to']}" for t in after.get("cost_types_renamed") or [])
    parts = [p for p in (f"added {added}" if added else "", f"renamed {renamed}" if renamed else "") if p]
    return format_html("; the company's cost types: {}", "; ".join(parts)) if parts else SafeString("")


def _change(before: dict | None, after: dict | None) -> str:
    """"name: Old → New; city: A → B" from an event's before and after."""
    before, after = before or {}, after or {}
    return "; ".join(f"{key.replace('_', ' ')}: {_value(before.get(key))} → {_value(after.get(key))}"
                     for key in after if before.get(key) != after.get(key))


def _value(value) -> str:
    if value in (None, "", [], {}):
        return "(empty)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def event_sentence(event: AuditEvent) -> SafeString:
    """What changed, as a sentence; the who and when are shown beside it."""
    a, after = event.action, event.after or {}
    record = event.object_repr
    if a == "erp_job.imported":
        return format_html("Added job {} as project {}{}.", _job_link(after.get("erp_job", "")), record,
                           format_html(" with the template {}", after["template"]) if after.get("template") else "")
    if a == "erp_job.linked":
        renamed = after.get("renamed") or []
        names = "; ".join(f"{r['code']} {r['from'] or '(no name)'} → {r['to']}" for r in renamed[:5])
        more = f"; and {len(renamed) - 5} more" if len(renamed) > 5 else ""
        return format_html("Linked job {} to the existing project {}{}{}.", _job_link(after.get("erp_job", "")), record,
                           format_html(" (the ERP's names taken: {}{})", names, more) if renamed else "", _type_changes(after))
    if a == "erp_job.unlinked":
        code = record.split(" ", 1)[0]
        return format_html("Unlinked job {} from project {}; the job went to {}{}.", _job_link(code), after.get("project", ""),
                           "Archived" if after.get("status") == "archived" else "Ready to Import",
                           " and Procore's project is no longer marked as the job's" if after.get("procore_origin_cleared") else "")
    if a == "erp_job.cost_codes_refreshed":
        counts = after.get("counts") or {}
        renamed = after.get("cost_codes_renamed") or []
        names = "; ".join(f"{r['code']} {r['from'] or '(no name)'} → {r['to']}" for r in renamed[:5])
        gone = ", ".join(r["code"] for r in (after.get("cost_codes_no_longer_in_erp") or [])[:10])
        return format_html("Refreshed the cost codes of {} from the ERP: {} added, {} renamed{}, {} made inactive{}{}.", record,
                           _n(counts.get("cost_codes_added", len(after.get("cost_codes_to_add") or [])), "cost code"),
                           intcomma(counts.get("cost_codes_renamed", len(renamed))), format_html(" ({})", names) if names else "",
                           intcomma(counts.get("cost_codes_made_inactive", len(after.get("cost_codes_no_longer_in_erp") or []))),
                           format_html(" ({})", gone) if gone else "", _type_changes(after))
    if a in ("erp_job.archived", "erp_job.restored"):
        code = record.split(" ", 1)[0]
        if a == "erp_job.archived":
            return format_html("Archived job {}.", _job_link(code))
        return format_html("Restored job {} to Ready to Import.", _job_link(code))
    if a == "erp_job.changed_in_erp":
        code = record.split(" ", 1)[0]
        return format_html("Job {} changed in the ERP: {}.", _job_link(code), _change(event.before, after))
    if a == "erp_jobs.pulled":
        codes = [j.split("/", 1)[-1] for j in after.get("jobs", [])]
        return format_html("{} came in from {}: {}.", _n(len(codes), "new job"), record, _jobs(codes))
    if a == "erp_settings.changed":
        return format_html("Changed the ERP settings: {}.", _change(event.before, after))
    if a in ("erp_connection.created", "erp_connection.changed"):
        secrets = after.get("secrets_changed") or []
        return format_html("{} the connection {}{}.", "Added" if a.endswith("created") else "Changed", record,
                           format_html(" (new {})", ", ".join(secrets)) if secrets else "")
    if a in ("erp_connection.tested", "procore_connection.tested"):
        return format_html("Tested the connection {}: {}.", record, "it works" if after.get("ok") else "it does not work")
    if a == "procore_connection.saved":
        return format_html("Saved the Procore connection.")
    if a.startswith("project_template."):
        return format_html("{} the project template {}.", {"created": "Added", "changed": "Changed", "deleted": "Deleted"}.get(
            a.split(".", 1)[1], "Changed"), record)
    if a == "user.locked_out":
        return format_html("Signing in as {} was paused for {} minutes after too many wrong passwords (from {}).", record,
                           after.get("minutes"), after.get("address"))
    if a == "user.unlocked":
        return format_html("An administrator let {} sign in again.", record)
    return format_html("{} {}.", a.replace("_", " ").replace(".", ": "), record)
