"""Statements written in the shape each Dutch bank exports (tests/reconcile/fixtures/dutch/):
every file reads the same dated amounts its balances add up to, with the details it carries.

The files live in a subfolder so the eight-transaction story of conftest.BANK_FILES stays apart.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.reconcile import bank_import, banks
from portal.reconcile.models import BankLine, BankStatement

DUTCH = Path(__file__).parent / "fixtures" / "dutch"


def dutch(name: str) -> bytes:
    return (DUTCH / name).read_bytes()


def parse(name: str, **kwargs) -> banks.ParsedStatement:
    return banks.parse_statement(dutch(name), **kwargs)


def amounts(statement: banks.ParsedStatement) -> list[int]:
    return [line.amount_cents for line in statement.lines]


def assert_adds_up(statement: banks.ParsedStatement) -> None:
    for part in statement.parts:
        assert part.opening_cents + sum(line.amount_cents for line in part.lines) == part.closing_cents


# --- 1. CAMT reversals ---------------------------------------------------------------------

def test_a_camt_reversal_keeps_the_direction_its_cdtdbtind_gives(app):
    statement = parse("abnamro_reversal_camt053.xml")
    assert amounts(statement) == [92100, -92100, 100, -100, -90000]
    assert_adds_up(statement)
    assert (statement.opening_cents, statement.closing_cents) == (200000, 110000)
    returned = statement.lines[1]
    # The returned payment names the original payer, not the account holder.
    assert (returned.counterparty_name, returned.counterparty_iban) == ("Hoveniersbedrijf Groen B.V.", "NL44RABO0123456789")


def test_a_camt_reversal_is_stored_as_money_going_out(app, leader):
    bank_import.import_statement(dutch("abnamro_reversal_camt053.xml"), actor=leader, match=False)
    stored = {line.bank_ref: line.amount_cents for line in BankLine.select()}
    assert stored["0601R0000000921"] == -92100 and stored["0601R0000000001"] == -100
    assert sum(stored.values()) == -90000


# --- 2. CAMT batches -----------------------------------------------------------------------

def test_a_camt_batch_is_split_into_its_transactions(app):
    statement = parse("rabobank_batch_camt053.xml")
    assert amounts(statement) == [50000, 75000, 50000, -21225, -15000]   # the pending entry is not booked
    assert_adds_up(statement)
    payers = [(line.counterparty_name, line.counterparty_iban, line.reference) for line in statement.lines[:3]]
    assert payers == [("Papendorp Advies B.V.", "NL02ABNA0123456789", "RF362026000012"),
                      ("De Linde Zorg", "NL69INGB0123456789", "RF092026000013"),
                      ("Bouwbedrijf Brug B.V.", "NL44RABO0123456789", "RF792026000014")]
    assert statement.lines[0].end_to_end_id == "PAP-INV-2026-031"
    assert [line.counterparty_name for line in statement.lines[3:]] == ["A. Jansen", "Cateraar Het Servet"]
    assert len({line.fingerprint for line in statement.lines}) == 5


def test_a_camt_batch_whose_transactions_do_not_make_its_total_is_refused(request_context):
    data = dutch("rabobank_batch_camt053.xml").replace(b'<Amt Ccy="EUR">750.00</Amt>', b'<Amt Ccy="EUR">705.00</Amt>')
    with pytest.raises(banks.StatementError) as error:
        banks.parse_statement(data)
    assert "do not add up to its amount" in str(error.value) and "1,750.00" in str(error.value)


# --- 3. several accounts in one file -------------------------------------------------------

def test_each_camt_stmt_keeps_its_own_account_identity_and_balances(app):
    statement = parse("ing_two_accounts_camt053.xml")
    parts = [(p.account_iban, p.number, p.opening_cents, p.closing_cents, len(p.lines)) for p in statement.parts]
    assert parts == [("NL95INGB0006512345", "151", 100000, 129750, 3), ("0004567890", "42", 1500000, 1698750, 2)]
    assert statement.parts[0].closing_on == dt.date(2026, 5, 31)
    assert statement.accounts == ["NL95INGB0006512345", "0004567890"]
    assert statement.account_iban == ""   # no single account for the file
    assert [line.account_iban for line in statement.lines] == ["NL95INGB0006512345"] * 3 + ["0004567890"] * 2
    # The same bank charge on both accounts on the same day is two lines.
    fees = [line for line in statement.lines if line.amount_cents == -1250]
    assert len(fees) == 2 and fees[0].fingerprint != fees[1].fingerprint


def _only_second_account(data: bytes) -> bytes:
    start, end = data.index(b"<Stmt>"), data.index(b"</Stmt>") + len(b"</Stmt>")
    return data[:start] + data[end:]


def _only_first_account(data: bytes) -> bytes:
    start = data.rindex(b"<Stmt>")
    end = data.rindex(b"</Stmt>") + len(b"</Stmt>")
    return data[:start] + data[end:]


def test_a_single_account_export_after_a_multi_account_one_adds_nothing(app, leader):
    both = dutch("ing_two_accounts_camt053.xml")
    first = bank_import.import_statement(both, filename="beide.xml", actor=leader, match=False)
    assert first.lines_new == 5
    again = bank_import.import_statement(_only_second_account(both), filename="spaar.xml", actor=leader, match=False)
    assert again.duplicate and again.lines_new == 0
    assert BankLine.select().count() == 5


def test_a_multi_account_export_after_a_single_account_one_adds_only_the_other_account(app, leader):
    both = dutch("ing_two_accounts_camt053.xml")
    single = bank_import.import_statement(_only_first_account(both), filename="zakelijk.xml", actor=leader, match=False)
    assert single.lines_new == 3 and single.statement.account_iban == "NL95INGB0006512345"
    result = bank_import.import_statement(both, filename="beide.xml", actor=leader, match=False)
    assert (result.lines_total, result.lines_new) == (5, 2)
    assert BankLine.select().count() == 5 and BankStatement.select().count() == 2


# --- 4. MT940 headers of other banks, trailing control bytes -------------------------------

@pytest.mark.parametrize("name, account, expected", [
    ("bunq.sta", "NL05BUNQ2040512345", [35000, -2495]),
    ("ing_old.940", "0006512345", [25000, -1250]),
    ("moneyou.sta", "NL41MOYO0271234567", [500000, 3125]),
    ("vanlanschot.sta", "NL13FVLB0227654321", [150000, -35000]),
])
def test_mt940_headers_of_other_banks_are_read(app, name, account, expected):
    statement = parse(name)
    assert statement.format == "mt940"
    assert statement.account_iban == account
    assert amounts(statement) == expected
    assert_adds_up(statement)


def test_bunq_and_van_lanschot_details_are_kept(app):
    bunq = parse("bunq.sta").lines[0]
    assert (bunq.counterparty_name, bunq.counterparty_iban, bunq.reference) == ("J. de Vries", "NL20INGB0001234567", "RF522026000015")
    lanschot = parse("vanlanschot.sta").lines[0]
    assert (lanschot.counterparty_name, lanschot.reference) == ("Papendorp Advies B.V.", "RF842026000021")
    assert parse("moneyou.sta").lines[0].description == "Overboeking naar spaarrekening"


@pytest.mark.parametrize("tail", [b"\x1a", b"\r\n\x1a\x1a", b"\x03", b"\x04\r\n", b"\x00"])
def test_a_trailing_ctrl_z_or_control_byte_is_no_invalid_line(app, tail):
    data = dutch("bunq.sta") + tail
    assert amounts(banks.parse_statement(data)) == [35000, -2495]
    assert dutch("ing_old.940").endswith(b"\x1a")   # as old ING files end


def test_a_trailing_ctrl_z_after_camt_xml_is_ignored_too(app):
    data = dutch("abnamro_reversal_camt053.xml") + b"\x1a"
    assert amounts(banks.parse_statement(data)) == [92100, -92100, 100, -100, -90000]


# --- 5. ASN, SNS and RegioBank MT940 -------------------------------------------------------

@pytest.mark.parametrize("name, account, expected, first_party", [
    ("asn.sta", "NL36ASNB0708271234", [25000, -4550, -260], ("Acme B.V.", "NL02ABNA0123456789")),
    ("sns.sta", "NL22SNSB0912345678", [7500, -1999], ("J. de Vries", "NL20INGB0001234567")),
    ("regiobank.sta", "NL13RBRB0951234567", [100000], ("Papendorp Advies B.V.", "NL02ABNA0123456789")),
])
def test_volksbank_mt940_is_read(app, name, account, expected, first_party):
    statement = parse(name)
    assert statement.account_iban == account
    assert amounts(statement) == expected
    assert_adds_up(statement)
    line = statement.lines[0]
    assert (line.counterparty_name, line.counterparty_iban) == first_party
    assert "NL" not in line.description[:2]


def test_asn_lines_keep_description_and_reference(app):
    statement = parse("asn.sta")
    assert statement.lines[0].description == "Betaling RF682026000018 donatie mei"
    assert statement.lines[0].reference == "RF682026000018"
    assert statement.lines[1].description == "Factuur 2026-118 drukwerk"


@pytest.mark.parametrize("old, new, words", [
    (b":60F:C260501EUR1000,00", b":60F:C2605xxEUR1000,00", "field :60F:"),
    (b"-}{5:}", b"-}{5:}\r\n:20:0000000001\r\n:25:NL36ASNB0708271234\r\n:61:26x", "Statement 2"),
])
def test_an_unreadable_mt940_gets_a_message_not_a_python_repr(request_context, old, new, words):
    with pytest.raises(banks.StatementError) as error:
        banks.parse_statement(dutch("asn.sta").replace(old, new))
    message = str(error.value)
    assert words in message and "Nothing was imported" in message
    assert "RuntimeError" not in message and "<" not in message and "\\n" not in message


# --- 6. multi-page MT940 -------------------------------------------------------------------

def test_a_multi_page_mt940_statement_is_one_statement(app):
    statement = parse("abnamro_pages.sta")
    assert amounts(statement) == [25000, -12000, 60000, -1250]
    assert [(p.account_iban, p.number, p.opening_cents, p.closing_cents) for p in statement.parts] == [
        ("592345678", "15201", 500000, 571750)]
    assert (statement.opening_cents, statement.closing_cents) == (500000, 571750)


def test_a_page_that_does_not_open_where_the_last_closed_is_refused(request_context):
    data = dutch("abnamro_pages.sta").replace(b":60M:C260515EUR5130,00", b":60M:C260515EUR5030,00")
    data = data.replace(b":62F:C260531EUR5717,50", b":62F:C260531EUR5617,50")
    with pytest.raises(banks.StatementError) as error:
        banks.parse_statement(data)
    assert "Page 2" in str(error.value) and "EUR 5,130.00" in str(error.value)


# --- 7. Rabobank CSV in English ------------------------------------------------------------

def test_rabobank_csv_with_english_headers(app):
    statement = parse("rabobank_en.csv")
    assert statement.account_iban == "NL81RABO0312345678"
    assert amounts(statement) == [50000, -8740]
    first, second = statement.lines
    assert (first.counterparty_name, first.counterparty_iban, first.reference) == (
        "Papendorp Advies B.V.", "NL02ABNA0123456789", "RF302026000023")
    assert first.end_to_end_id == "PAP-2026-051"
    assert second.description == "Huur aanhanger mei 2026"


# --- 8. details kept -----------------------------------------------------------------------

def test_triodos_counterparty_name_and_iban(app):
    statement = parse("triodos.sta")
    assert statement.account_iban == "0198765432"
    assert amounts(statement) == [15000, -7500]
    gift, lunch = statement.lines
    assert (gift.counterparty_name, gift.counterparty_iban) == ("J. DE VRIES", "NL20INGB0001234567")
    assert gift.description == "Gift RF192026000027 namens buurtvereniging De Hoef"
    assert gift.reference == "RF192026000027"
    assert (lunch.counterparty_name, lunch.counterparty_iban) == ("CATERAAR HET SERVET", "NL97RABO0156789012")


def test_knab_counterparty_name_and_iban(app):
    gift, poster = parse("knab.sta").lines
    assert (gift.counterparty_name, gift.counterparty_iban, gift.reference) == (
        "Bouwbedrijf Brug B.V.", "NL44RABO0123456789", "RF572026000022")
    assert (poster.counterparty_name, poster.counterparty_iban) == ("Drukkerij De Letter", "NL69INGB0123456789")
    assert poster.description == "Factuur 2026-140 posters"


def test_old_sns_counterparty_from_the_86_text_and_an_iban_with_spaces_whole(app):
    donation, rent = parse("sns_old.sta").lines
    assert (donation.counterparty_name, donation.counterparty_iban, donation.reference) == (
        "Acme B.V.", "NL02ABNA0123456789", "RF622026000029")
    assert (rent.counterparty_name, rent.counterparty_iban, rent.description) == (
        "Bouwbedrijf Brug B.V.", "NL44RABO0123456789", "Huur aanhanger")


def test_old_rabobank_counterparty_from_the_61_and_86_text(app):
    statement = parse("rabobank_old.swi")
    donation, rent = statement.lines
    assert (donation.counterparty_name, donation.counterparty_iban) == ("ACME B.V.", "NL02ABNA0123456789")
    assert (donation.description, donation.reference) == ("DONATIE MEI RF892026000028", "RF892026000028")
    # The account written with spaces on the :61: second line is stored whole, not "NL44".
    assert (rent.counterparty_name, rent.counterparty_iban) == ("BOUWBEDRIJF BRUG B.V.", "NL44RABO0123456789")
    assert_adds_up(statement)


def test_rabobank_csv_value_date_and_spaced_iban(app):
    line = parse("rabobank_value_date.csv").lines[0]
    assert (line.booked_on, line.value_on) == (dt.date(2026, 6, 1), dt.date(2026, 5, 29))
    english = parse("rabobank_en.csv").lines
    assert (english[0].booked_on, english[0].value_on) == (dt.date(2026, 5, 4), dt.date(2026, 5, 1))
    assert english[1].counterparty_iban == "NL44RABO0123456789"


def test_mt940_account_with_spaces_is_stored_whole(app):
    data = dutch("bunq.sta").replace(b":25:NL05BUNQ2040512345", b":25:NL05 BUNQ 2040 5123 45")
    assert banks.parse_statement(data).account_iban == "NL05BUNQ2040512345"


def test_camt_accounts_given_as_othr_id(app):
    statement = parse("ing_two_accounts_camt053.xml")
    assert statement.parts[1].account_iban == "0004567890"
    papendorp = statement.lines[3]
    assert (papendorp.counterparty_name, papendorp.counterparty_iban) == ("Papendorp Advies B.V.", "592345678")


# --- RF references are taken whole ---------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("RF772026000050MET VRIENDELIJKE GROET", "RF772026000050"),
    ("betaling RF772026000050 MET VRIENDELIJKE GROET", "RF772026000050"),
    ("RF77 2026 0000 50 met vriendelijke groet", "RF772026000050"),
    ("Kenmerk: RF18 5390 0754 7034 IBAN: NL02ABNA0123456789", "RF18539007547034"),
    ("betaling RF85 2026 0000 03 dank", "RF852026000003"),
    ("RF42 2026000001", "RF422026000001"),
    ("RF 42 2026 000001 bedankt", "RF422026000001"),
    ("RF12 is geen kenmerk, RF12IS ook niet", ""),
    ("RF772026000051", ""),
    ("RF77", ""),
])
def test_rf_extraction_takes_exactly_the_reference(text, expected):
    assert banks.find_rf(text) == expected


def test_a_wrapped_mt940_line_does_not_glue_the_next_word_onto_the_reference(app):
    data = dutch("abnamro_pages.sta").replace(
        b"Acme B.V./REMI/RF142026000020/EREF/NOTPROVIDED",
        b"Acme B.V./REMI/RF772026000050\r\nMET VRIENDELIJKE GROET/EREF/NOTPROVIDED")
    line = banks.parse_statement(data).lines[0]
    assert line.reference == "RF772026000050"
    assert "RF772026000050METVRI" not in line.reference


# --- CAMT balances are checked -------------------------------------------------------------

def test_a_camt_file_whose_closing_balance_is_off_is_refused_whole(request_context, leader):
    data = dutch("rabobank_batch_camt053.xml").replace(b">5637.75<", b">5737.75<")
    with pytest.raises(banks.StatementError) as error:
        bank_import.import_statement(data, actor=leader)
    message = str(error.value)
    assert "EUR 5,737.75" in message and "EUR 5,637.75" in message and "does not add up" in message
    assert BankLine.select().count() == 0 and BankStatement.select().count() == 0


# --- a CSV with a byte-order mark ----------------------------------------------------------

@pytest.mark.parametrize("encoding", banks.ENCODINGS)
def test_a_csv_with_a_byte_order_mark_imports_in_either_encoding_choice(app, encoding):
    text = ('"Datum";"Naam / Omschrijving";"Rekening";"Tegenrekening";"Code";"Af Bij";"Bedrag (EUR)";'
            '"Mutatiesoort";"Mededelingen"\r\n'
            '"20260504";"Café De Brug";"NL95INGB0006512345";"NL44 RABO 0123 4567 89";"OV";"Bij";"85,00";'
            '"Overschrijving";"Naam: Café De Brug Kenmerk: RF46 2026 0000 26"\r\n')
    statement = banks.parse_statement(b"\xef\xbb\xbf" + text.encode("utf-8"), encoding=encoding)
    line = statement.lines[0]
    assert (line.counterparty_name, line.counterparty_iban, line.amount_cents) == ("Café De Brug", "NL44RABO0123456789", 8500)
    assert line.reference == "RF462026000026" and statement.account_iban == "NL95INGB0006512345"
