"""Every credential of the pipeline: from `pulumi config set --secret`, or generated once per stack."""

from __future__ import annotations

import base64

import pulumi
import pulumi_random as random

from components.settings import Secrets


def _fernet_key(standard_base64: str) -> str:
    """Airflow wants a Fernet key: 32 bytes in URL-safe base64."""
    return base64.urlsafe_b64encode(base64.b64decode(standard_base64)[:32]).decode()


class Credentials(pulumi.ComponentResource):
    """Secret outputs only; values never appear in plaintext in state or stack files."""

    def __init__(self, name: str, secrets: Secrets, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Credentials", name, None, opts)
        self.cassandra_password = self._password("cassandra-password", secrets.cassandra_password)
        # Replaces the well-known default superuser password, whose login is then disabled.
        self.cassandra_retired_default_password = self._password("cassandra-retired-default-password", None)
        self.object_store_password = self._password("object-store-password", secrets.object_store_password)
        self.postgres_password = self._password("postgres-password", secrets.postgres_password)
        self.pipeline_db_password = self._password("pipeline-db-password", secrets.pipeline_db_password)
        self.airflow_admin_password = self._password("airflow-admin-password", secrets.airflow_admin_password)
        self.pseudonym_key = self._password("pseudonym-key", secrets.pseudonym_key, length=48)
        self.airflow_jwt_secret = self._password("airflow-jwt-secret", None, length=48)
        fernet_bytes = random.RandomBytes(
            "airflow-fernet-key", length=32, opts=pulumi.ResourceOptions(parent=self, protect=False)
        )
        self.airflow_fernet_key = pulumi.Output.secret(fernet_bytes.base64.apply(_fernet_key))
        self.register_outputs({})

    def _password(self, name: str, configured: pulumi.Output[str] | None, length: int = 24) -> pulumi.Output[str]:
        if configured is not None:
            return pulumi.Output.secret(configured)
        # Letters and digits only: the values are embedded in CQL, URLs and shell without quoting issues.
        generated = random.RandomPassword(name, length=length, special=False, opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.secret(generated.result)
