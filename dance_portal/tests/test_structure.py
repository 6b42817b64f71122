"""The portal's apps are floors, and every import points down (README "Project layout").

This reads the imports of the product code (not tests or migrations) and fails on an import of an app on the same or
a higher floor (so on any cycle between apps) and on an import of another app's private name.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Floor by floor, ground first: an app may import only apps on lower floors.
FLOORS = [
    ["studio"],  # the studio's settings, emails, CSV, branding
    ["students", "courses"],  # who dances; what is taught (catalog data only)
    ["registrations"],  # seats, registering, payments; the catalog and course pages
    ["waitlist", "attendance"],
    ["portal", "class_messages"],  # the student portal: a student's everything; messages to a class
    ["dance_portal"],  # the project: URLs, settings, the admin dashboard and the admin pages that compose apps
]
FLOOR = {app: n for n, apps in enumerate(FLOORS) for app in apps}


def _product_files():
    for app in FLOOR:
        for path in sorted((ROOT / app).rglob("*.py")):
            if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                yield app, path


def _imports(path: Path):
    """(module, names) of every import in the file, function-level ones included."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def _edges():
    """(importing app, imported app, file, module, names) for every import of another portal app."""
    for app, path in _product_files():
        for module, names in _imports(path):
            target = module.split(".")[0]
            if target in FLOOR and target != app:
                yield app, target, path.relative_to(ROOT), module, names


EDGES = list(_edges())


def test_every_app_of_the_portal_has_a_floor():
    from django.apps import apps

    local = {config.name for config in apps.get_app_configs() if (ROOT / config.name).is_dir()}
    assert local == set(FLOOR)


def upward_imports(edges) -> list[str]:
    return [
        f"{path}: {app} (floor {FLOOR[app]}) imports {module} (floor {FLOOR[target]})"
        for app, target, path, module, _names in edges
        if FLOOR[target] >= FLOOR[app]
    ]


def apps_in_a_cycle(edges) -> list[str]:
    graph = defaultdict(set)
    for app, target, *_rest in edges:
        graph[app].add(target)

    def reaches(start, goal, seen=()):
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, (*seen, nxt))) for nxt in graph[start])

    return [app for app in FLOOR if reaches(app, app)]


def private_imports(edges) -> list[str]:
    return [
        f"{path}: {module} {names}"
        for _app, _target, path, module, names in edges
        if any(part.startswith("_") for part in module.split(".")) or any(name.startswith("_") for name in names)
    ]


def test_every_import_between_apps_points_to_a_lower_floor():
    assert upward_imports(EDGES) == []


def test_there_is_no_cycle_between_apps():
    assert apps_in_a_cycle(EDGES) == []


def test_no_app_imports_another_apps_private_names():
    assert private_imports(EDGES) == []


def test_the_checks_catch_an_upward_import_a_cycle_and_a_private_name():
    """The checks above are not vacuous: what the code looked like before the layers were drawn fails each one."""
    edges = [
        ("registrations", "waitlist", "registrations/services.py", "waitlist.services", ["offer_freed_seats"]),
        ("waitlist", "registrations", "waitlist/services.py", "registrations.services", ["_lock_slot"]),
    ]

    assert upward_imports(edges) == [
        "registrations/services.py: registrations (floor 2) imports waitlist.services (floor 3)"
    ]
    assert apps_in_a_cycle(edges) == ["registrations", "waitlist"]
    assert private_imports(edges) == ["waitlist/services.py: registrations.services ['_lock_slot']"]
