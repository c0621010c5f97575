"""Until reqfulfill's pytest11 entry point is installed, load its fixtures here.

(With ``pip install 'reqfulfill[testing]'`` the ``rf_*`` fixtures are there
without this line.)
"""

pytest_plugins = ["reqfulfill.testing.pytest_plugin"]
