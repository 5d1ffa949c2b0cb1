"""jwtdemo: a small API protected by django_jwtmiddleware (see the README next to manage.py)."""
