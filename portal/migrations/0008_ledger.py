"""The ledger (portal/core/ledger.py): postings, maintained totals and closed months.

Filled here from the rows as they are: every confirmed hours row (its sponsored and its
volunteered part), every paid donation with its refunds and chargebacks, every confirmed
material and every allowance line, each booked on its own date. Months inside the periods the
project leader had closed in the reconciliation become closed months.

Written by hand after `portal db makemigration ledger --module portal.core.ledger`: the fill
is SQL frozen as of this migration (later code must not change what it does). Never edit a
migration once it has landed: write a new one.
"""
import datetime as dt

from peewee import *

KINDS = ('hours_sponsored', 'hours_volunteered', 'money', 'material', 'allowance')
AMOUNTS = 'lines, minutes, value_cents, gross_cents, fee_cents, net_cents'
COLUMNS = ('company_id, dated_on, booked_on, kind, key, source, basis, classification, method, ' + AMOUNTS
           + ', person, subject_id, reference, created_at')

HOURS = """
SELECT h.company_id, h.worked_on, h.worked_on, '{kind}', 'hours:' || CAST(h.id AS text),
       CASE h.kind WHEN 'reversal' THEN 'hours.reversal' WHEN 'correction' THEN 'hours.correction'
                   ELSE 'hours.confirmed' END,
       {basis}, '', '', 1, h.{minutes}, {value}, 0, 0, 0, e.employee_name, h.enrolment_id, '', {{now}}
FROM enrollment_hours_entry h JOIN enrollment_enrolment e ON e.id = h.enrolment_id
WHERE h.status = 'confirmed' AND h.minutes <> 0 AND h.{minutes} <> 0"""

MONEY = """
SELECT d.company_id, {on}, {on}, 'money', {key}, '{source}', 'at_cost', d.classification, d.method, 1, 0,
       {gross}, {gross}, {fee}, {net}, '', d.id, COALESCE(d.stripe_payment_intent_id, d.reference, ''), {{now}}
FROM {tables} WHERE d.status = 'paid' AND d.company_id IS NOT NULL {where}"""

SOURCES = (
    HOURS.format(kind='hours_sponsored', minutes='sponsored_minutes',
                 basis="CASE WHEN COALESCE(h.hourly_cost_cents, 0) = 0 THEN 'none' ELSE 'employer_cost' END",
                 value='CASE WHEN COALESCE(h.hourly_cost_cents, 0) = 0 THEN 0 ELSE h.value_cents END'),
    HOURS.format(kind='hours_volunteered', minutes='volunteered_minutes', basis="'none'", value='0'),
    MONEY.format(on='d.paid_on', key="'donation:' || CAST(d.id AS text)", source='donation.paid',
                 gross='d.amount_cents', fee='COALESCE(d.fee_cents, 0)',
                 net='COALESCE(d.net_cents, d.amount_cents - COALESCE(d.fee_cents, 0))',
                 tables='giving_donation d', where=''),
    MONEY.format(on='r.succeeded_on', key="'donation:' || CAST(d.id AS text) || ':refund:' || CAST(r.id AS text)",
                 source='refund.succeeded', gross='(0 - r.amount_cents)', fee='COALESCE(r.fee_cents, 0)',
                 net='COALESCE(r.net_cents, 0 - r.amount_cents - COALESCE(r.fee_cents, 0))',
                 tables='giving_refund r JOIN giving_donation d ON d.id = r.donation_id',
                 where="AND r.status = 'succeeded'"),
    MONEY.format(on='x.withdrawn_on',
                 key="'donation:' || CAST(d.id AS text) || ':dispute:' || CAST(x.id AS text) || ':withdrawn'",
                 source='dispute.withdrawn', gross='(0 - x.withdrawn_cents)', fee='x.withdrawn_fee_cents',
                 net='(0 - x.withdrawn_cents - x.withdrawn_fee_cents)',
                 tables='giving_dispute x JOIN giving_donation d ON d.id = x.donation_id',
                 where='AND x.withdrawn_cents IS NOT NULL'),
    MONEY.format(on='x.reinstated_on',
                 key="'donation:' || CAST(d.id AS text) || ':dispute:' || CAST(x.id AS text) || ':reinstated'",
                 source='dispute.reinstated', gross='x.reinstated_cents', fee='x.reinstated_fee_cents',
                 net='(x.reinstated_cents - x.reinstated_fee_cents)',
                 tables='giving_dispute x JOIN giving_donation d ON d.id = x.donation_id',
                 where='AND x.reinstated_cents IS NOT NULL'),
    """
SELECT p.company_id, p.confirmed_on, p.confirmed_on, 'material', 'material:' || CAST(p.id AS text), 'material.confirmed',
       'market_value', p.classification, 'in_kind', 1, 0, p.confirmed_value_cents, 0, 0, 0, '', p.id, '', {now}
FROM giving_material_pledge p WHERE p.status = 'confirmed'""",
    """
SELECT a.company_id, a.month, a.month, 'allowance', 'allowance:' || CAST(a.id AS text), 'allowance.line', 'at_cost', '', '',
       1, 0, a.amount_cents, 0, 0, 0, '', a.enrolment_id, '', {now}
FROM enrollment_allowance_line a""",
)


def kinds(column):
    return SQL(f"CHECK ({column} IN ({', '.join(repr(k) for k in KINDS)}))")


def up(migrator, db):
    class ClosedMonth(Model):
        month = DateField(unique=True)
        closed_at = DateTimeField()
        closed_by_id = IntegerField(null=True)
        explanations = TextField(default='{}')
        class Meta:
            database = db
            table_name = 'ledger_closed_month'
    db.create_tables([ClosedMonth])

    class Posting(Model):
        company_id = IntegerField()
        dated_on = DateField()
        booked_on = DateField()
        kind = CharField(max_length=20)
        key = CharField(max_length=80)
        source = CharField(max_length=40)
        basis = CharField(max_length=20, default='')
        classification = CharField(max_length=20, default='')
        method = CharField(max_length=20, default='')
        lines = IntegerField(default=1)
        minutes = IntegerField(default=0)
        value_cents = BigIntegerField(default=0)
        gross_cents = BigIntegerField(default=0)
        fee_cents = BigIntegerField(default=0)
        net_cents = BigIntegerField(default=0)
        person = CharField(max_length=200, default='')
        subject_id = IntegerField(null=True)
        reference = CharField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'ledger_posting'
            constraints = [kinds('kind'), SQL('CHECK (booked_on >= dated_on)')]
            indexes = ((('company_id', 'booked_on'), False), (('company_id', 'dated_on'), False), (('booked_on',), False),
                       (('key', 'kind'), False))
    db.create_tables([Posting])

    class Total(Model):
        company_id = IntegerField()
        month = DateField()
        kind = CharField(max_length=20)
        basis = CharField(max_length=20, default='')
        classification = CharField(max_length=20, default='')
        method = CharField(max_length=20, default='')
        lines = BigIntegerField(default=0)
        minutes = BigIntegerField(default=0)
        value_cents = BigIntegerField(default=0)
        gross_cents = BigIntegerField(default=0)
        fee_cents = BigIntegerField(default=0)
        net_cents = BigIntegerField(default=0)
        corrections = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'ledger_total'
            constraints = [kinds('kind')]
            indexes = ((('company_id', 'month', 'kind', 'basis', 'classification', 'method'), True), (('month',), False))
    db.create_tables([Total])

    sqlite = isinstance(db, SqliteDatabase)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    param = '?' if sqlite else '%s'
    for source in SOURCES:
        db.execute_sql(f'INSERT INTO ledger_posting ({COLUMNS}) ' + source.replace('{now}', param), (now,))
    month = "strftime('%Y-%m-01', booked_on)" if sqlite else "CAST(date_trunc('month', booked_on) AS date)"
    group = 'company_id, kind, basis, classification, method'
    sums = ', '.join(f'SUM({name})' for name in AMOUNTS.split(', '))
    db.execute_sql(f'INSERT INTO ledger_total ({group}, month, {AMOUNTS}, corrections) '
                   f'SELECT {group}, {month}, {sums}, 0 FROM ledger_posting GROUP BY {group}, {month}')

    for starts_on, ends_on, closed_at, closed_by in db.execute_sql(
            'SELECT starts_on, ends_on, closed_at, closed_by_id FROM reconcile_period_close').fetchall():
        day = dt.date.fromisoformat(str(starts_on)[:10]).replace(day=1)
        last = dt.date.fromisoformat(str(ends_on)[:10])
        while day <= last:
            db.execute_sql(f'INSERT INTO ledger_closed_month (month, closed_at, closed_by_id, explanations) '
                           f'SELECT {param}, {param}, {param}, {param} WHERE NOT EXISTS '
                           f'(SELECT 1 FROM ledger_closed_month WHERE month = {param})',
                           (day, closed_at, closed_by, '{}', day))
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def down(migrator, db):
    migrator.migrate(migrator.drop_table('ledger_total'))
    migrator.migrate(migrator.drop_table('ledger_posting'))
    migrator.migrate(migrator.drop_table('ledger_closed_month'))
