"""Fixtures: a `strand controller` started on a free port and a temporary data directory.

`controller` is shared by the whole session (tests use unique names so they stay independent);
`fresh_controller` is a new, empty controller for tests that need the initial state.
Each is killed and its directory removed at the end, whatever happened.
"""

import pytest

from strandtest import ControllerProcess


def _started(name):
    ctrl = ControllerProcess(name)
    try:
        ctrl.start()
    except BaseException:
        ctrl.cleanup()
        raise
    return ctrl


@pytest.fixture(scope="session")
def controller():
    ctrl = _started("session")
    try:
        yield ctrl
    finally:
        ctrl.cleanup()


@pytest.fixture(scope="session")
def url(controller):
    return controller.url


@pytest.fixture(scope="session")
def api(controller):
    client = controller.client()
    try:
        yield client
    finally:
        client.disconnect()


@pytest.fixture
def fresh_controller():
    ctrl = _started("fresh")
    try:
        yield ctrl
    finally:
        ctrl.cleanup()
