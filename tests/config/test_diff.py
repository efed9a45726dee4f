"""``diff_configs``: key-by-key changes between two resolved configs."""

from __future__ import annotations

from pysetl.config.diff import ConfigChange, diff_configs, flatten_config
from pysetl.utils.redaction import MASK


class TestFlatten:
    def test_nested_mappings_become_dotted_paths_and_lists_stay_whole(self):
        flat = flatten_config({"db": {"pool": {"size": 5}, "hosts": ["a", "b"]}})
        assert flat == {"db.pool.size": 5, "db.hosts": ["a", "b"]}

    def test_an_empty_mapping_is_a_leaf(self):
        assert flatten_config({"a": {}}) == {"a": {}}


class TestDiff:
    def test_equal_configs_have_no_changes(self):
        config = {"a": 1, "b": {"c": [1, 2]}}
        assert diff_configs(config, dict(config)) == []

    def test_added_removed_and_changed_keys_sorted_by_path(self):
        old = {"db": {"host": "a", "port": 1}, "z": True}
        new = {"db": {"host": "b"}, "z": True, "app": {"name": "x"}}
        assert diff_configs(old, new) == [
            ConfigChange("app.name", "added", None, "x"),
            ConfigChange("db.host", "changed", "a", "b"),
            ConfigChange("db.port", "removed", 1, None),
        ]

    def test_a_list_is_replaced_as_a_whole(self):
        changes = diff_configs({"hosts": ["a", "b"]}, {"hosts": ["a"]})
        assert changes == [ConfigChange("hosts", "changed", ["a", "b"], ["a"])]

    def test_a_value_of_another_type_is_a_change(self):
        assert diff_configs({"n": 1}, {"n": 1.0})[0].kind == "changed"
        assert diff_configs({"n": True}, {"n": 1})[0].kind == "changed"

    def test_a_mapping_turning_into_a_scalar_removes_its_leaves(self):
        changes = diff_configs({"a": {"b": 1}}, {"a": 2})
        assert [(c.key, c.kind) for c in changes] == [
            ("a", "added"),
            ("a.b", "removed"),
        ]

    def test_values_under_a_secret_key_path_are_masked(self):
        old = {"db": {"password": "hunter2-old", "credentials": {"user": "u1"}}}
        new = {"db": {"password": "hunter2-new", "credentials": {"user": "u2"}}}
        changes = diff_configs(old, new)
        assert changes == [
            ConfigChange("db.credentials.user", "changed", MASK, MASK),
            ConfigChange("db.password", "changed", MASK, MASK),
        ]
        assert "hunter2" not in " ".join(map(str, changes))

    def test_secret_patterns_in_plain_values_are_masked(self):
        changes = diff_configs({}, {"url": "postgresql://app:s3cr3t-pw@db/x"})
        assert changes[0].new == f"postgresql://app:{MASK}@db/x"

    def test_a_removed_secret_key_set_to_none_stays_none(self):
        assert diff_configs({"token": None}, {}) == [
            ConfigChange("token", "removed", None, None)
        ]


class TestConfigChange:
    def test_str_shows_a_sign_per_kind(self):
        assert str(ConfigChange("a", "added", None, 1)) == "+ a: 1"
        assert str(ConfigChange("a", "removed", 1)) == "- a: 1"
        assert str(ConfigChange("a", "changed", 1, 2)) == "~ a: 1 -> 2"

    def test_round_trips_through_a_dict(self):
        change = ConfigChange("a.b", "changed", "x", "y")
        assert ConfigChange.from_dict(change.to_dict()) == change
