"""Writes of the studio's settings (README "Settings"). The admin and the commands save a setting through
`save_setting`, so every stored value passes its key's rule (`studio.config.parse_setting`).
"""

from studio.models import SystemSetting


def save_setting(*, key: str, value: str, description: str = "") -> SystemSetting:
    """Create or update the setting `key` only if `value` passes the key's rule; raises ValidationError otherwise."""
    # Checked on an unsaved row without the unique check: an existing key is the update case, not an error.
    SystemSetting(setting_key=key, setting_value=value, description=description).full_clean(validate_unique=False)
    # update_or_create locks the row it updates in its own transaction: two saves of one key run one after the other.
    setting, _created = SystemSetting.objects.update_or_create(
        setting_key=key, defaults={"setting_value": value, "description": description}
    )
    return setting


def delete_setting(*, key: str) -> bool:
    """Remove the row of setting `key`, so the setting runs on its default again; False when there was none."""
    deleted, _by_model = SystemSetting.objects.filter(setting_key=key).delete()
    return bool(deleted)
