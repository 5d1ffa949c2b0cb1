"""Management commands of django_jwtmiddleware."""
