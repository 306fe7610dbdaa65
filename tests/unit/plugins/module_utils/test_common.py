"""The shared connection options: how the credential environment variables are read."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.coconut.entra.plugins.module_utils.common import (
    ENTRA_MUTUALLY_EXCLUSIVE,
    ENTRA_REQUIRED_ONE_OF,
    ENTRA_REQUIRED_TOGETHER,
    entra_argument_spec,
)


def validate(params):
    validator = ArgumentSpecValidator(entra_argument_spec(), mutually_exclusive=ENTRA_MUTUALLY_EXCLUSIVE,
                                      required_together=ENTRA_REQUIRED_TOGETHER, required_one_of=ENTRA_REQUIRED_ONE_OF)
    return validator.validate(params)


def test_an_empty_credential_variable_counts_as_not_set_as_an_awx_credential_injects_it(monkeypatch):
    # A credential of the AWX type in extensions/awx/ given a client secret injects the certificate variables empty.
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "s3cret-value")
    monkeypatch.setenv("ENTRA_CLIENT_CERTIFICATE", "")
    monkeypatch.setenv("ENTRA_CLIENT_PRIVATE_KEY", "")
    result = validate({})
    assert result.error_messages == []
    assert result.validated_parameters["entra_client_secret"] == "s3cret-value"
    assert result.validated_parameters["entra_client_certificate"] is None
    assert "s3cret-value" in result._no_log_values


def test_a_certificate_with_an_empty_secret_variable_is_one_credential(monkeypatch):
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "")
    monkeypatch.setenv("ENTRA_CLIENT_CERTIFICATE", "-----BEGIN CERTIFICATE-----")
    monkeypatch.setenv("ENTRA_CLIENT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----")
    result = validate({})
    assert result.error_messages == []
    assert result.validated_parameters["entra_client_secret"] is None


def test_a_secret_and_a_certificate_both_set_are_still_refused(monkeypatch):
    monkeypatch.setenv("ENTRA_CLIENT_SECRET", "s3cret-value")
    monkeypatch.setenv("ENTRA_CLIENT_CERTIFICATE", "-----BEGIN CERTIFICATE-----")
    monkeypatch.setenv("ENTRA_CLIENT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----")
    assert any("mutually exclusive" in message for message in validate({}).error_messages)
