"""PII redaction round trip (pure)."""

from __future__ import annotations

import json
import random
from datetime import date

from pydantic import BaseModel

from ws1ai.governance.redaction import Redactor, redact

RECORD = {
    "DeviceId": 1234,
    "SerialNumber": "C02XK1ABJG5H",
    "Imei": "356938035643809",
    "UserEmailAddress": "jane.doe@example.com",
    "UserName": "jdoe",
    "PhoneNumber": "+1 415 555 0100",
    "WifiMacAddress": "a4:83:e7:12:34:56",
    "AssetNumber": "ASSET-00991",
    "Model": "MacBook Pro (14-inch, 2023)",
    "OperatingSystem": "14.4.1",
    "LastSeen": "2026-11-20T10:00:00",
    "notes": [
        "Jane Doe reported that device C02XK1ABJG5H overheats; call +44 20 7946 0958",
        {"nested": "mail jane.doe@example.com or bob@example.org, mac 00-1A-2B-3C-4D-5E, tag AST-7781"},
    ],
    "raw": json.dumps({"serial_number": "FVFXC2ABCD12", "comment": "IMEI 35-209900-176148-1"}),
}
PII = [
    "C02XK1ABJG5H",
    "356938035643809",
    "jane.doe@example.com",
    "jdoe",
    "415 555 0100",
    "a4:83:e7:12:34:56",
    "ASSET-00991",
    "Jane",
    "Doe",
    "7946 0958",
    "bob@example.org",
    "00-1A-2B-3C-4D-5E",
    "AST-7781",
    "FVFXC2ABCD12",
    "35-209900-176148-1",
]


def test_no_pii_survives_and_non_pii_does() -> None:
    r = Redactor(names=["Jane Doe", "jdoe"])
    out = r.redact(RECORD)
    text = json.dumps(out)
    for value in PII:
        assert value not in text, value
    assert out["DeviceId"] == 1234
    assert out["Model"] == "MacBook Pro (14-inch, 2023)"
    assert out["OperatingSystem"] == "14.4.1"
    assert out["LastSeen"] == "2026-11-20T10:00:00"


def test_placeholders_are_stable_and_round_trip() -> None:
    r = Redactor(names=["Jane Doe"])
    out = r.redact(RECORD)
    assert out["UserEmailAddress"] == "<EMAIL_1>"
    assert "<EMAIL_1>" in out["notes"][1]["nested"]  # same value, same placeholder, anywhere
    assert out["SerialNumber"] in out["notes"][0]
    assert r.restore(out) == json.loads(json.dumps(RECORD)) | {"raw": json.dumps(json.loads(RECORD["raw"]))}


def test_answer_from_the_model_is_restored() -> None:
    redacted, r = redact("Please wipe the laptop of Jane Doe (jane.doe@example.com).", names=["Jane Doe"])
    assert redacted == "Please wipe the laptop of <NAME_1> (<EMAIL_1>)."
    answer = {"decision": "notify <NAME_1> at <EMAIL_1> first", "unknown": "<EMAIL_9> stays"}
    assert r.restore(answer) == {
        "decision": "notify Jane Doe at jane.doe@example.com first",
        "unknown": "<EMAIL_9> stays",
    }


def test_known_values_and_name_parts() -> None:
    r = Redactor(names=["Ana Lima"], known={"asset": ["LAPTOP-77"]})
    assert r.redact("Lima's LAPTOP-77 and Ana") == "<NAME_1>'s <ASSET_1> and <NAME_2>"
    assert r.restore(r.redact("Lima's LAPTOP-77 and Ana")) == "Lima's LAPTOP-77 and Ana"


class _Device(BaseModel):
    device_id: int
    serial_number: str
    user_email: str
    enrolled_on: date


def test_property_no_generated_pii_survives_in_any_shape() -> None:
    """Seeded random records: PII in named fields, free text, JSON strings, models, big ints, nesting."""
    rng = random.Random(20261123)
    first_names = ["Ana", "Bruno", "Chen", "Dmitri", "Eva", "Farah", "Gustavo", "Hiro"]
    last_names = ["Lima", "Okafor", "Schmidt", "Tanaka", "Novak", "Haddad", "Moreau", "Kowalski"]
    alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    for _ in range(200):
        person = f"{rng.choice(first_names)} {rng.choice(last_names)}"
        email = f"{person.lower().replace(' ', '.')}@corp{rng.randint(1, 9)}.example.com"
        serial = "C" + "".join(rng.choice(alnum) for _ in range(10)) + str(rng.randint(0, 9))
        imei = "".join(str(rng.randint(0, 9)) for _ in range(15))
        mac = ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))
        phone = (
            f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        )
        asset = f"ASSET-{rng.randint(1000, 99999)}"
        pii = [person, *person.split(), email, serial, imei, mac, phone, asset]
        shapes: list[object] = [
            {"SerialNumber": serial, "Imei": int(imei) if imei[0] != "0" else imei, "PhoneNumber": phone},
            f"{person} ({email}) says {serial} with MAC {mac} overheats; call {phone}; tag {asset}",
            json.dumps({"user": {"email": email}, "note": f"IMEI {imei}"}),
            _Device(
                device_id=rng.randint(1, 10**6),
                serial_number=serial,
                user_email=email,
                enrolled_on=date(2025, 1, 2),
            ),
            {(email if rng.random() < 0.5 else "k"): [{"deep": (mac, {asset})}]},
        ]
        rng.shuffle(shapes)
        record = {"items": shapes, "owner": person}
        r = Redactor(names=[person])
        text = json.dumps(r.redact(record), default=str)
        leaked = [p for p in pii if p in text]
        assert not leaked, (leaked, text)
