"""Reference endpoints of /api/v1. (stub, to be completed)"""
