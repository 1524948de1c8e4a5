"""Active Directory / LDAP sign-in: find the user, check the password by binding as them, read
their display name and groups, and turn the groups into portal roles.

An adapter over ldap3 and nothing else: no database, no HTTP. `service.sign_in` decides when
to ask the directory and what to do with the answer. The steps, for OpenLDAP and AD alike:

1. bind as the service account (or anonymously) and search `user_base` with the user filter;
   the username is escaped, so `*` or `)` in it cannot widen the search;
2. bind a second connection as the user's DN with the password they typed: the directory,
   not the portal, judges the password (and AD's lockout and expiry rules apply);
3. the groups are those whose `member`/`uniqueMember` names the user (the group filter) plus
   the user's own `memberOf` values, which is how AD answers;
4. a group counts when the mapping names it by DN or by CN, case-insensitively.

A directory that cannot be reached, or refuses the service account, raises
`DirectoryUnavailable` (503): the sign-in of local accounts never depends on it.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from ldap3 import NONE, SIMPLE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPInvalidDnError
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from shared.auth.tokens import Role
from shared.i18n import _
from shared.settings import Settings
from shared.web.problems import PortalError

log = structlog.get_logger(__name__)

MEMBER_OF = "memberOf"
INVALID_CREDENTIALS_RESULT = 49


class DirectoryUnavailable(PortalError):
    status = 503
    title = _("Service Unavailable")
    slug = "directory-unavailable"

    def __init__(self) -> None:
        super().__init__(
            _(
                "The company directory (Active Directory / LDAP) is not answering, so directory "
                "accounts cannot sign in right now. Local accounts still can. Try again in a few "
                "minutes or tell IT."
            ),
            code="directory_unavailable",
        )


@dataclass(frozen=True)
class DirectoryConfig:
    """Where the directory is and how to ask it; built from the PORTAL_LDAP_* settings."""

    url: str
    user_base: str
    group_base: str
    bind_dn: str | None = None
    bind_password: str | None = None
    user_filter: str = "(uid={username})"
    group_filter: str = "(|(member={user_dn})(uniqueMember={user_dn}))"
    display_name_attribute: str = "displayName"
    timeout_seconds: float = 5.0
    start_tls: bool = False
    ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DirectoryConfig | None:
        """None when directory sign-in is off (PORTAL_LDAP_URL unset)."""
        if not settings.ldap_url or not settings.ldap_user_base:
            return None
        password = settings.ldap_bind_password
        return cls(
            url=settings.ldap_url,
            user_base=settings.ldap_user_base,
            group_base=settings.ldap_group_base or settings.ldap_user_base,
            bind_dn=settings.ldap_bind_dn,
            bind_password=password.get_secret_value() if password is not None else None,
            user_filter=settings.ldap_user_filter,
            group_filter=settings.ldap_group_filter,
            display_name_attribute=settings.ldap_display_name_attribute,
            timeout_seconds=settings.ldap_timeout_seconds,
            start_tls=settings.ldap_start_tls,
            ca_file=settings.ldap_ca_file,
        )


@dataclass(frozen=True)
class DirectoryUser:
    """A user the directory vouched for: their password was right."""

    dn: str
    display_name: str
    groups: tuple[str, ...]  # group DNs, as the directory wrote them
    roles: tuple[str, ...]  # portal roles the mapping gives those groups; may be empty


# --- the mapping, pure ---------------------------------------------------------------------


def group_key(name: str) -> str:
    """How a mapping key or a group is compared: a DN normalised, or a bare CN, lower-cased."""
    name = name.strip()
    if "=" not in name:
        return name.lower()
    try:
        parts = parse_dn(name, strip=True)
    except LDAPInvalidDnError:
        return name.lower()
    return ",".join(f"{attr.strip().lower()}={value.strip().lower()}" for attr, value, _ in parts)


def common_name(dn: str) -> str | None:
    """'cn=Operators,ou=groups,dc=plant' -> 'operators'; None when the first RDN is no CN."""
    try:
        parts = parse_dn(dn, strip=True)
    except LDAPInvalidDnError:
        return None
    if not parts or parts[0][0].strip().lower() != "cn":
        return None
    return parts[0][1].strip().lower()


def roles_for_groups(groups: Iterable[str], group_roles: Mapping[str, Iterable[str]]) -> list[str]:
    """The roles the mapping gives these groups, each once, in the order of `Role`."""
    by_key: dict[str, set[str]] = {}
    for name, roles in group_roles.items():
        by_key.setdefault(group_key(name), set()).update(role.lower() for role in roles)
    granted: set[str] = set()
    for group in groups:
        for key in (group_key(group), common_name(group)):
            if key is not None:
                granted |= by_key.get(key, set())
    return [role.value for role in Role if role.value in granted]


def user_filter(template: str, username: str) -> str:
    # replace, not format: a filter may hold other braces, and the value must not be re-read.
    return template.replace("{username}", escape_filter_chars(username))


def group_filter(template: str, user_dn: str) -> str:
    return template.replace("{user_dn}", escape_filter_chars(user_dn))


# --- talking to the directory --------------------------------------------------------------


class Directory:
    """One configured directory. `server` and `strategy` are swapped in tests (MOCK_SYNC)."""

    def __init__(
        self, config: DirectoryConfig, *, server: Server | None = None, strategy: str = SYNC
    ) -> None:
        self.config = config
        self.server = server or _server(config)
        self.strategy = strategy

    def authenticate(
        self, username: str, password: str, group_roles: Mapping[str, Iterable[str]]
    ) -> DirectoryUser | None:
        """The user when the directory accepts this password; None when it does not.

        Raises `DirectoryUnavailable` when the directory cannot be asked at all.
        """
        if not password:  # an empty password is an unauthenticated bind: LDAP says yes to it
            return None
        try:
            with self._connection(self.config.bind_dn, self.config.bind_password) as service:
                if not service.bind():
                    log.error("directory.service_bind_refused", result=service.result)
                    raise DirectoryUnavailable()
                entry = self._find_user(service, username)
                if entry is None or not self._password_matches(entry["dn"], password):
                    return None
                groups = self._groups(service, entry)
        except LDAPException as exc:
            log.error("directory.unreachable", url=self.config.url, error=str(exc))
            raise DirectoryUnavailable() from exc
        return DirectoryUser(
            dn=entry["dn"],
            display_name=_display_name(entry, self.config.display_name_attribute, username),
            groups=tuple(groups),
            roles=tuple(roles_for_groups(groups, group_roles)),
        )

    @contextmanager
    def _connection(self, user: str | None, password: str | None) -> Iterator[Connection]:
        connection = Connection(
            self.server,
            user=user,
            password=password,
            authentication=SIMPLE if user else None,
            client_strategy=self.strategy,
            auto_referrals=False,  # AD answers searches at the domain root with referrals
            # ldap3 packs it into a socket option that takes whole seconds only.
            receive_timeout=math.ceil(self.config.timeout_seconds),
            read_only=True,
        )
        try:
            if self.config.start_tls and not self.server.ssl:
                connection.open()
                if not connection.start_tls():
                    log.error("directory.start_tls_refused", result=connection.result)
                    raise DirectoryUnavailable()
            yield connection
        finally:
            connection.unbind()

    def _find_user(self, service: Connection, username: str) -> dict[str, Any] | None:
        attributes = [self.config.display_name_attribute, "cn", MEMBER_OF]
        found = _search(
            service,
            self.config.user_base,
            user_filter(self.config.user_filter, username),
            attributes,
        )
        if len(found) != 1:
            # Two entries for one username is a directory mistake: trust neither.
            log.info("directory.user_not_found", matches=len(found))
            return None
        return found[0]

    def _password_matches(self, user_dn: str, password: str) -> bool:
        with self._connection(user_dn, password) as as_user:
            if as_user.bind():
                return True
            if as_user.result.get("result") != INVALID_CREDENTIALS_RESULT:
                log.warning("directory.user_bind_refused", dn=user_dn, result=as_user.result)
            return False

    def _groups(self, service: Connection, entry: dict[str, Any]) -> list[str]:
        searched = _search(
            service,
            self.config.group_base,
            group_filter(self.config.group_filter, entry["dn"]),
            [],
        )
        named = [str(dn) for dn in _values(entry["attributes"], MEMBER_OF)]
        return list(dict.fromkeys([*(group["dn"] for group in searched), *named]))


def _server(config: DirectoryConfig) -> Server:
    tls = None
    if config.url.lower().startswith("ldaps://") or config.start_tls:
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=str(config.ca_file) if config.ca_file else None,
        )
    return Server(config.url, connect_timeout=config.timeout_seconds, get_info=NONE, tls=tls)


def _search(
    connection: Connection, base: str, search_filter: str, attributes: list[str]
) -> list[dict[str, Any]]:
    """The entries found (referrals skipped).

    A failed search (a search base that does not exist, a filter the server rejects) is a
    misconfigured directory, not a wrong password: it says so rather than refuse everyone.
    """
    connection.search(base, search_filter, SUBTREE, attributes=attributes or None)
    if connection.result.get("result") != 0:
        log.error("directory.search_failed", base=base, result=connection.result)
        raise DirectoryUnavailable()
    return [item for item in connection.response or [] if item.get("type") == "searchResEntry"]


def _values(attributes: Mapping[str, Any], name: str) -> list[Any]:
    """An attribute's values, whatever case the directory spelt its name in."""
    for key, value in attributes.items():
        if key.lower() == name.lower():
            return list(value) if isinstance(value, list | tuple) else [value]
    return []


def _display_name(entry: dict[str, Any], attribute: str, username: str) -> str:
    for name in (attribute, "cn"):
        values = [str(value).strip() for value in _values(entry["attributes"], name)]
        if values and values[0]:
            return values[0]
    return username
