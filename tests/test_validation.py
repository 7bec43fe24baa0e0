"""Tests for prometheus_client.validation (both name-validation schemes)."""
from __future__ import annotations

import importlib.util

import pytest
from hypothesis import given, strategies as st

from prometheus_client import validation
from prometheus_client.validation import (
    METRIC_LABEL_NAME_RE,
    METRIC_NAME_RE,
    RESERVED_METRIC_LABEL_NAME_RE,
    _init_legacy_validation,
    _is_valid_legacy_labelname,
    _is_valid_legacy_metric_name,
    _validate_exemplar,
    _validate_labelname,
    _validate_labelnames,
    _validate_metric_label_name_token,
    _validate_metric_name,
    disable_legacy_validation,
    enable_legacy_validation,
    get_legacy_validation,
)


@pytest.fixture
def utf8_mode(monkeypatch):
    monkeypatch.setattr(validation, "_legacy_validation", False)


@pytest.fixture
def legacy_mode(monkeypatch):
    monkeypatch.setattr(validation, "_legacy_validation", True)


class _Histogram:
    _reserved_labelnames = ["le"]


class _Summary:
    _reserved_labelnames = ["quantile"]


class _Plain:
    _reserved_labelnames: list = []


def _message(func, *args):
    with pytest.raises(ValueError) as excinfo:
        func(*args)
    return str(excinfo.value)


def test_regexes():
    assert METRIC_NAME_RE.pattern == r'^[a-zA-Z_:][a-zA-Z0-9_:]*$'
    assert METRIC_LABEL_NAME_RE.pattern == r'^[a-zA-Z_][a-zA-Z0-9_]*$'
    assert RESERVED_METRIC_LABEL_NAME_RE.pattern == r'^__.*$'


class TestSwitch:
    def test_enable_disable_get(self, monkeypatch):
        monkeypatch.setattr(validation, "_legacy_validation", False)
        assert get_legacy_validation() is False
        enable_legacy_validation()
        assert validation._legacy_validation is True
        assert get_legacy_validation() is True
        disable_legacy_validation()
        assert validation._legacy_validation is False
        assert get_legacy_validation() is False

    def test_global_read_at_call_time(self, monkeypatch):
        monkeypatch.setattr(validation, "_legacy_validation", True)
        with pytest.raises(ValueError):
            _validate_metric_name("a b")
        monkeypatch.setattr(validation, "_legacy_validation", False)
        _validate_metric_name("a b")

    @pytest.mark.parametrize("value, expected", [
        ("true", True), ("TRUE", True), ("True", True), ("1", True), ("t", True), ("T", True),
        ("yes", False), ("0", False), ("", False), ("false", False), ("on", False),
    ])
    def test_init_from_environment(self, monkeypatch, value, expected):
        monkeypatch.setenv("PROMETHEUS_LEGACY_NAME_VALIDATION", value)
        assert _init_legacy_validation() is expected

    def test_init_default_off(self, monkeypatch):
        monkeypatch.delenv("PROMETHEUS_LEGACY_NAME_VALIDATION", raising=False)
        assert _init_legacy_validation() is False

    @pytest.mark.parametrize("value, expected", [("t", True), ("nope", False)])
    def test_environment_read_at_import(self, monkeypatch, value, expected):
        monkeypatch.setenv("PROMETHEUS_LEGACY_NAME_VALIDATION", value)
        # Load a private copy of the module so the shared one is untouched.
        spec = importlib.util.spec_from_file_location("_validation_copy", validation.__file__)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module._legacy_validation is expected


class TestMetricName:
    @pytest.mark.parametrize("name", ["a", "a_b", "a:b", "_a", "a b", "0abc", "my.metric", "a-b", "\u00e9",
                                      "\U0001f600", "__a"])
    def test_utf8_mode_accepts_any_nonempty(self, utf8_mode, name):
        assert _validate_metric_name(name) is None

    @pytest.mark.parametrize("name", ["", None])
    @pytest.mark.parametrize("mode", ["utf8_mode", "legacy_mode"])
    def test_empty(self, request, mode, name):
        request.getfixturevalue(mode)
        assert _message(_validate_metric_name, name) == "metric name cannot be empty"

    @pytest.mark.parametrize("name", ["a b", "my.metric", "a-b", "0abc", "\u00e9", "\ud800"])
    def test_legacy_rejects(self, legacy_mode, name):
        assert _message(_validate_metric_name, name) == "invalid metric name " + name

    @pytest.mark.parametrize("name", ["a", "a:b", "_a", "__a", ":x", "A1"])
    def test_legacy_accepts(self, legacy_mode, name):
        assert _validate_metric_name(name) is None

    def test_utf8_mode_rejects_surrogates(self, utf8_mode):
        with pytest.raises(UnicodeEncodeError):
            _validate_metric_name("\ud800")

    def test_utf8_mode_non_string(self, utf8_mode):
        with pytest.raises(AttributeError):
            _validate_metric_name(5)

    @pytest.mark.parametrize("name, expected", [
        ("a:b", True), ("a_1", True), ("", False), ("1a", False), ("a b", False), ("__a", True),
    ])
    def test_is_valid_legacy_metric_name(self, name, expected):
        assert _is_valid_legacy_metric_name(name) is expected


class TestLabelName:
    @pytest.mark.parametrize("name", ["a", "a b", "a.b", "a:b", "", "\u00e9", "_a", "1a"])
    def test_utf8_mode_accepts(self, utf8_mode, name):
        assert _validate_labelname(name) is None

    @pytest.mark.parametrize("mode", ["utf8_mode", "legacy_mode"])
    def test_reserved_prefix_any_mode(self, request, mode):
        request.getfixturevalue(mode)
        assert _message(_validate_labelname, "__x") == "Reserved label metric name: __x"

    @pytest.mark.parametrize("name", ["a.b", "a:b", "1a", "", "a b", "__a b"])
    def test_legacy_rejects(self, legacy_mode, name):
        assert _message(_validate_labelname, name) == "Invalid label metric name: " + name

    def test_utf8_mode_rejects_surrogates(self, utf8_mode):
        with pytest.raises(UnicodeEncodeError):
            _validate_labelname("__\ud800")  # encoding is checked before the prefix

    @pytest.mark.parametrize("name, expected", [
        ("_a", True), ("a1", True), ("", False), ("__a", False), ("a:b", False), ("1a", False),
    ])
    def test_is_valid_legacy_labelname(self, name, expected):
        assert _is_valid_legacy_labelname(name) is expected


class TestLabelNames:
    def test_returns_tuple(self, utf8_mode):
        assert _validate_labelnames(_Histogram, ["a", "b"]) == ("a", "b")
        assert _validate_labelnames(_Histogram, iter(["a", "b"])) == ("a", "b")
        assert _validate_labelnames(_Histogram, "ab") == ("a", "b")
        assert _validate_labelnames(_Plain, []) == ()

    @pytest.mark.parametrize("cls, name", [(_Histogram, "le"), (_Summary, "quantile")])
    def test_reserved_for_class_message_typo(self, utf8_mode, cls, name):
        assert _message(_validate_labelnames, cls, ["a", name]) == "Reserved label methe fric name: " + name

    def test_name_validated_before_class_reservation(self, utf8_mode):
        assert _message(_validate_labelnames, _Histogram, ["__a", "le"]) == "Reserved label metric name: __a"

    def test_legacy(self, legacy_mode):
        assert _message(_validate_labelnames, _Plain, ["a:b"]) == "Invalid label metric name: a:b"

    def test_class_attribute_read_only_when_needed(self, utf8_mode):
        assert _validate_labelnames(object, []) == ()
        with pytest.raises(AttributeError):
            _validate_labelnames(object, ["a"])


class TestExemplar:
    def test_limit_is_128_characters(self, utf8_mode):
        assert _validate_exemplar({"a" * 64: "b" * 64}) is None
        assert _message(_validate_exemplar, {"a" * 64: "b" * 65}) == (
            "Exemplar labels have %d UTF-8 characters, exceeding the limit of 128")

    def test_counts_characters_not_bytes(self, utf8_mode):
        assert _validate_exemplar({"\u00e9" * 64: "\u00e9" * 64}) is None

    def test_empty(self, utf8_mode):
        assert _validate_exemplar({}) is None

    def test_label_names_checked_first(self, utf8_mode):
        assert _message(_validate_exemplar, {"a" * 200: "x", "__b": "c"}) == "Reserved label metric name: __b"

    def test_legacy_label_names(self, legacy_mode):
        assert _message(_validate_exemplar, {"a b": "c"}) == "Invalid label metric name: a b"

    def test_non_string_value(self, utf8_mode):
        with pytest.raises(TypeError):
            _validate_exemplar({"a": 1})

    @given(st.dictionaries(st.text(alphabet="abcxyz_", min_size=1, max_size=20),
                           st.text(max_size=40), max_size=8))
    def test_property_limit(self, exemplar):
        # Valid in both schemes: keys are legacy-valid unless they start "__".
        total = sum(len(k) + len(v) for k, v in exemplar.items())
        if any(k.startswith("__") for k in exemplar):
            with pytest.raises(ValueError, match="Reserved"):
                _validate_exemplar(exemplar)
        elif total > 128:
            with pytest.raises(ValueError, match="exceeding the limit of 128"):
                _validate_exemplar(exemplar)
        else:
            assert _validate_exemplar(exemplar) is None


class TestLabelNameToken:
    @pytest.mark.parametrize("tok", ["a", "A_1", "_", "__a", '"a b"', '""', '"', '"__a"', '" "',
                                     '"a"b"', '"\u00e9"', '"a\\"b"', '"""'])
    def test_utf8_mode_accepts(self, utf8_mode, tok):
        assert _validate_metric_label_name_token(tok) is None

    @pytest.mark.parametrize("tok", ["", '"a', 'a"', "a b", "a:b", "'a b'", "\u00e9", "1a"])
    def test_utf8_mode_rejects(self, utf8_mode, tok):
        assert _message(_validate_metric_label_name_token, tok) == "invalid label name token " + tok

    @pytest.mark.parametrize("tok", ['"a b"', '"a"', '""', '"', "a:b", "1a", ""])
    def test_legacy_rejects_quoted(self, legacy_mode, tok):
        assert _message(_validate_metric_label_name_token, tok) == "invalid label name token " + tok

    @pytest.mark.parametrize("tok", ["a", "__a", "_1"])
    def test_legacy_accepts(self, legacy_mode, tok):
        assert _validate_metric_label_name_token(tok) is None

    def test_quoted_surrogate(self, utf8_mode):
        with pytest.raises(UnicodeEncodeError):
            _validate_metric_label_name_token('"\ud800"')
