"""tinyrig.templates"""
