"""Settings modules: ``base`` (shared, read from the environment), ``local``,
``test`` and ``production``. ``DJANGO_ENV`` picks one (see ``chatcore.env``)."""
