"""The web portal for people who are not engineers: department offices, the county offices, the
bureau, operator staff and merchants (server-rendered, in Chinese). See ``app.create_app``."""
