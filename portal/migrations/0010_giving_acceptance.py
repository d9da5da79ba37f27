"""A public gift that names an existing company waits for that company (its administrator) or the
project leader to accept it before it counts for the company (issue 15, item 4).

`company_decision` on a donation: NULL for every donation that counts as it always did (made in
the portal, or a public gift whose company was made from it); 'waiting' for a paid public gift
naming a company that already existed; then 'accepted' or 'declined'. Until it is accepted the
gift is not in the company's overview, contributions or ledger. Existing rows keep NULL.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *

DECISIONS = ('waiting', 'accepted', 'declined')


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('giving_donation', 'company_decision', CharField(
            max_length=10, null=True,
            constraints=[Check(f"company_decision IN ({', '.join(repr(v) for v in DECISIONS)})")])),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column('giving_donation', 'company_decision'))
