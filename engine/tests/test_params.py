"""The shapes of public call parameters: every wrong type is named, nothing raises."""

import json

import pytest

from engine import params as P

HOSTILE = [
    ["a list"],
    {"a": "dict"},
    42,
    4.2,
    True,
    False,
    "x" * (1024 * 1024),
    json.loads("[" * 500 + "]" * 500),
]


def test_text_refuses_every_other_type_and_long_strings():
    shape = {"code": P.Text(max_length=32)}
    assert P.check({"code": "123456"}, shape) == ({"code": "123456"}, None)
    for value in HOSTILE:
        assert P.check({"code": value}, shape) == ({}, "code"), repr(value)[:40]


def test_missing_and_null_fit_the_business_code_decides():
    shape = {"code": P.Text(), "consent": P.Flag()}
    assert P.check({}, shape) == ({"code": None, "consent": None}, None)
    assert P.check({"code": None}, shape) == ({"code": None, "consent": None}, None)
    assert P.check(["not", "a", "dict"], shape) == ({"code": None, "consent": None}, None)


def test_ascii_text_refuses_other_characters():
    shape = {"sha": P.Text(max_length=64, ascii=True)}
    assert P.check({"sha": "ab" * 32}, shape)[1] is None
    assert P.check({"sha": "é" * 10}, shape)[1] == "sha"


def test_flag_is_a_boolean_only():
    shape = {"consent": P.Flag()}
    assert P.check({"consent": True}, shape)[1] is None
    for value in (1, "true", "1", [True], {"a": True}):
        assert P.check({"consent": value}, shape)[1] == "consent"


@pytest.mark.parametrize("value", ["1", 1.0, True, False, 0, -3, 2**31, 10**40, [1], {"id": 1}])
def test_id_is_a_positive_database_integer(value):
    assert P.check({"other_id": value}, {"other_id": P.Id()})[1] == "other_id"


def test_id_accepts_a_real_id():
    assert P.check({"other_id": 7}, {"other_id": P.Id()}) == ({"other_id": 7}, None)


def test_mapping_checks_keys_values_and_size():
    shape = {"values": P.Mapping(P.Text(16), P.AnyOf((P.Text(100), P.Flag())), max_items=3)}
    assert P.check({"values": {"1": "x", "2": True}}, shape)[1] is None
    for bad in (
        {"1": ["x"]},
        {"1": {"a": 1}},
        {"1": 5},
        {"1": "x" * 101},
        {"k" * 17: "x"},
        {str(i): "x" for i in range(4)},
        ["x"],
        "x",
    ):
        assert P.check({"values": bad}, shape)[1] == "values", repr(bad)[:40]


def test_items_of_records_refuse_unknown_keys_and_wrong_types():
    person = P.Record({"id": P.Id(), "name": P.Text(), "include": P.Flag()})
    shape = {"participants": P.Items(person, max_items=2)}
    assert P.check({"participants": [{"id": 1, "name": "Carl", "include": None}]}, shape)[1] is None
    for bad in (
        [{"id": "1"}],
        [{"id": 1, "name": ["Carl"]}],
        [{"id": 1, "admin": True}],
        ["Carl"],
        [[{"id": 1}]],
        [{"id": 1}] * 3,
        {"id": 1},
    ):
        assert P.check({"participants": bad}, shape)[1] == "participants", repr(bad)[:40]


def test_a_deeply_nested_array_is_refused_at_once():
    deep = json.loads("[" * 900 + "]" * 900)
    shape = {"participants": P.Items(P.Record({"id": P.Id()}))}
    assert P.check({"participants": deep}, shape)[1] == "participants"
    assert P.check({"values": deep}, {"values": P.Mapping()})[1] == "values"
