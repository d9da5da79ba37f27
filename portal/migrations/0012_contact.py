"""The contact form (issue 16): messages visitors send through the public form, and the project
leader's reply.

`contact_message` holds what was typed (name, organisation, e-mail, message), the question type
as a code, the language of the form used (the confirmation and the reply go out in it), a UNIQUE
form token (a double click stores one message) and, once answered, the reply, when and by whom.
The CHECK constraints are written by hand, as in the models: fixed lists for the codes, and an
answered message always has its reply and time.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *

QUESTION_TYPES = ('employer', 'school', 'ambassador', 'donation', 'other')


def one_of(column, values):
    return Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class ContactMessage(Model):
        name = CharField(max_length=200)
        organisation = CharField(max_length=200, default='')
        email = CharField(max_length=254)
        question_type = CharField(max_length=12, constraints=[one_of('question_type', QUESTION_TYPES)])
        message = TextField()
        language = CharField(max_length=2, default='nl', constraints=[one_of('language', ('nl', 'en'))])
        form_token = CharField(max_length=64, unique=True)
        status = CharField(max_length=10, default='new', index=True, constraints=[one_of('status', ('new', 'answered'))])
        received_at = DateTimeField(index=True)
        reply = TextField(default='')
        answered_at = DateTimeField(null=True)
        answered_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'contact_message'
            legacy_table_names = False  # index names start with the table name, as the models' do
            constraints = [SQL("CHECK ((status = 'answered') = (answered_at IS NOT NULL AND reply <> ''))")]
    db.create_tables([ContactMessage])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('contact_message'))
