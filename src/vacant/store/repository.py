"""The store's one public surface: functions taking the :class:`~sqlalchemy.orm.Session` first.

They return the values of :mod:`vacant.routing.model` (ORM objects never leave the store) and
never commit: the caller owns the transaction (:func:`vacant.store.engine.session_scope`). A
write validates everything first and raises :class:`~vacant.errors.ValidationError` (field and
rule), :class:`~vacant.errors.NotFound` or :class:`~vacant.errors.Conflict` naming the object;
each write runs in a SAVEPOINT, so a failed one leaves nothing behind and the session usable,
and bumps the configuration version that the SIP server polls.

The functions live in modules by subject (``pools``, ``ranges``, ``directory``, ``routing``,
``transfer``); import them from here.
"""

from __future__ import annotations

from vacant.store.directory import (
    add_number,
    add_rule,
    get_number,
    get_rule,
    import_numbers,
    list_numbers,
    list_rules,
    remove_number,
    remove_rule,
    update_number,
    update_rule,
)
from vacant.store.pools import (
    add_announcement,
    add_file,
    add_pool,
    get_announcement,
    get_announcement_by_id,
    get_file_content,
    get_pool,
    list_announcements,
    list_files,
    list_pools,
    remove_announcement,
    remove_file,
    remove_pool,
    update_announcement,
    update_pool,
)
from vacant.store.ranges import (
    add_range,
    get_range,
    list_ranges,
    move_range,
    remove_range,
    update_range,
)
from vacant.store.routing import (
    config_version,
    load_routing_config,
    load_routing_config_for,
    load_rules,
)
from vacant.store.rows import UNSET, Unset
from vacant.store.transfer import export_config, import_config

__all__ = [
    "UNSET",
    "Unset",
    "add_announcement",
    "add_file",
    "add_number",
    "add_pool",
    "add_range",
    "add_rule",
    "config_version",
    "export_config",
    "get_announcement",
    "get_announcement_by_id",
    "get_file_content",
    "get_number",
    "get_pool",
    "get_range",
    "get_rule",
    "import_config",
    "import_numbers",
    "list_announcements",
    "list_files",
    "list_numbers",
    "list_pools",
    "list_ranges",
    "list_rules",
    "load_routing_config",
    "load_routing_config_for",
    "load_rules",
    "move_range",
    "remove_announcement",
    "remove_file",
    "remove_number",
    "remove_pool",
    "remove_range",
    "remove_rule",
    "update_announcement",
    "update_number",
    "update_pool",
    "update_range",
    "update_rule",
]
