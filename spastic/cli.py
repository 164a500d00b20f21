"""Shell commands: `flask --app spastic create-user | seed-demo | audit-* | backup | restore |
summaries-*`."""

import getpass
import json
import os
from pathlib import Path
from types import SimpleNamespace

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from spastic import audit
from spastic.accounts.forms import NewUser
from spastic.accounts.passwords import password_problem
from spastic.extensions import db
from spastic.models import AuditEvent, Clinic, Patient, User


def register(app: Flask) -> None:
    for command in (
        create_user_command,
        seed_demo_command,
        audit_verify_command,
        audit_checkpoint_command,
        audit_show_command,
        backup_command,
        restore_command,
        summaries_render_missing_command,
        summaries_worker_command,
    ):
        app.cli.add_command(command)


@click.command("create-user")
@with_appcontext
@click.option("--clinic", "clinic_name", required=True, help="Clinic name (created if new).")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["therapist", "physician", "admin"]), required=True)
@click.password_option(help="Asked for when not given.")
def create_user_command(clinic_name, email, name, role, password):
    """Create a user (and the clinic if it does not exist yet)."""
    from spastic.accounts.users import create_user, email_taken

    email = email.strip().lower()
    problem = password_problem(password, email=email)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    if email_taken(email):
        raise click.BadParameter("an account with this email already exists", param_hint="email")
    clinic = db.session.scalar(select(Clinic).where(Clinic.name == clinic_name))
    if clinic is None:
        clinic = Clinic(name=clinic_name)
        db.session.add(clinic)
        db.session.flush()
    create_user(clinic, NewUser(email=email, name=name, role=role, password=password))
    db.session.commit()
    click.echo(f"Created {role} {email} in {clinic_name}.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo clinics, accounts and patients (does nothing if they exist)."""
    from spastic.demo.seed import seed

    if db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("The database already has users; demo data not added.")
        return
    summary = seed()
    click.echo(summary)


@click.command("audit-verify")
@click.option(
    "--checkpoints",
    "checkpoints_file",
    type=click.File("r"),
    help="File of checkpoint lines (from audit-checkpoint) to verify against the trail.",
)
@with_appcontext
def audit_verify_command(checkpoints_file):
    """Check the keyed chain and every checkpoint; exit 1 if a row was changed or removed."""
    lines = checkpoints_file.readlines() if checkpoints_file else []
    problems = audit.verify(audit.chain_events(), lines)
    if problems:
        for p in problems:
            click.echo(f"{p.subject}: {p.problem}", err=True)
        raise SystemExit(1)
    count = db.session.scalar(select(db.func.count(AuditEvent.id)))
    unkeyed = db.session.scalar(
        select(db.func.count(AuditEvent.id)).where(AuditEvent.hash_scheme == audit.UNKEYED)
    )
    click.echo(f"Audit trail intact: {count} events.")
    if unkeyed:
        click.echo(f"{unkeyed} of them were written before the chain was keyed.")
    if checkpoints_file:
        click.echo(f"{sum(1 for line in lines if line.strip())} checkpoints hold.")
    else:
        click.echo(
            "No checkpoints given: rows deleted from the end of the trail, or a trail rewritten "
            "from its start, are found only with --checkpoints FILE."
        )


@click.command("audit-checkpoint")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, writable=True),
    help="Append the line to this file (default: print it, for a log shipper).",
)
@with_appcontext
def audit_checkpoint_command(path):
    """Sign each audit chain's head (count, last id, hash, time): one JSON line per chain."""
    key = audit.audit_key()
    lines = [point.signed_line(key) for point in audit.checkpoints()]
    db.session.commit()  # ends the read and releases the chain locks
    if path is None:
        for line in lines:
            click.echo(line)
        return
    with open(path, "a", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in lines)
        out.flush()
        os.fsync(out.fileno())
    click.echo(f"{len(lines)} checkpoints (one per chain) appended to {path}.")


@click.command("audit-show")
@click.option("--mrn", required=True, help="The patient's MRN.")
@click.option("--clinic", "clinic_name", help="The clinic, when the MRN is in more than one.")
@with_appcontext
def audit_show_command(mrn, clinic_name):
    """Print a patient's audit trail with old and new values, one JSON line per event."""
    query = select(Patient).join(Clinic).where(Patient.mrn == mrn.strip())
    if clinic_name:
        query = query.where(Clinic.name == clinic_name)
    patients = db.session.scalars(query).all()
    if len(patients) != 1:
        reason = "no patient has" if not patients else "more than one clinic has (use --clinic)"
        raise click.ClickException(f"{reason} the MRN {mrn!r}")
    patient = patients[0]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.patient_id == patient.id).order_by(AuditEvent.id)
    ).all()
    # The values are patient data: reading them is on the record, under the shell's user.
    reader = SimpleNamespace(id=None, email=f"shell:{getpass.getuser()}")
    audit.record(
        "view_audit_values",
        entity="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        user=reader,
        clinic_id=patient.clinic_id,
    )
    db.session.commit()
    for event in events:
        click.echo(json.dumps(_shown(event), ensure_ascii=False))


def _shown(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "who": event.user_email,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "field": event.field,
        "old": event.old_value,
        "new": event.new_value,
    }


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path):
    """Back up the live database to PATH (SQLite online backup, or pg_dump)."""
    from flask import current_app

    from spastic.backup import BackupError, backup

    try:
        written = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written to {written} ({written.stat().st_size} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(path):
    """Restore PATH into the configured database (stop the app first)."""
    from flask import current_app

    from spastic.backup import BackupError, restore

    db.engine.dispose()
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {path}.")


@click.command("summaries-render-missing")
@with_appcontext
def summaries_render_missing_command():
    """Render every signed summary version with no stored PDF (with SUMMARY_QUEUE=rq: queue it)."""
    from spastic.reports.queue import RQQueue, missing_versions, render_missing, summary_queue

    queue = summary_queue()
    if isinstance(queue, RQQueue):
        missing = missing_versions()
        for visit_id, version in missing:
            queue.submit(visit_id, version)
        click.echo(f"Queued {len(missing)} summary versions with no stored PDF.")
        return
    click.echo(f"Rendered and stored {render_missing()} summary versions with no stored PDF.")


@click.command("summaries-worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@with_appcontext
def summaries_worker_command(burst):
    """Render the summaries queued on RQ (SUMMARY_QUEUE=rq), after queueing any missing ones."""
    from rq import SimpleWorker

    from spastic.reports.queue import RQQueue, missing_versions, summary_queue

    queue = summary_queue()
    if not isinstance(queue, RQQueue):
        raise click.ClickException(
            "This worker serves SPASTIC_SUMMARY_QUEUE=rq (with SPASTIC_REDIS_URL); the "
            "in-process queue renders in the app itself."
        )
    missing = missing_versions()  # what a crash or restart may have lost
    for visit_id, version in missing:
        queue.submit(visit_id, version)
    click.echo(f"Queued {len(missing)} summary versions with no stored PDF.")
    jobs = queue.queue()
    SimpleWorker([jobs], connection=jobs.connection).work(burst=burst, with_scheduler=not burst)
