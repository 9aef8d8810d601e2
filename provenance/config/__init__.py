"""Settings: one TOML file loaded into frozen values (``settings``), one module per section
that has rules of its own (``clearance``, ``jobs``, ``roles``), and where the file and the
state live when nothing says (``locations``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance import lazy_exports

if TYPE_CHECKING:
    from provenance.config.settings import (
        CONFIG_ENV,
        STATE_DIR_ENV,
        CatalogSettings,
        DaemonSettings,
        NotifySettings,
        PathRuleSettings,
        PolicySettings,
        ReportSettings,
        RetentionSettings,
        RootSettings,
        ScheduleSettings,
        Settings,
        SmtpSettings,
        WebhookSettings,
        WebSettings,
        check_config,
        config_path,
        load_settings,
        parse_duration,
        parse_expiry,
        settings_from_mapping,
    )

__all__ = [
    "CONFIG_ENV",
    "STATE_DIR_ENV",
    "CatalogSettings",
    "DaemonSettings",
    "NotifySettings",
    "PathRuleSettings",
    "PolicySettings",
    "ReportSettings",
    "RetentionSettings",
    "RootSettings",
    "ScheduleSettings",
    "Settings",
    "SmtpSettings",
    "WebSettings",
    "WebhookSettings",
    "check_config",
    "config_path",
    "load_settings",
    "parse_duration",
    "parse_expiry",
    "settings_from_mapping",
]

# The settings' models (pydantic) load on first use: a scan with no config file forks its
# readers before they load, and importing ``locations`` alone must not bring them in.
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "provenance.config.settings"))
