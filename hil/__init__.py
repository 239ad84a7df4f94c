"""tinyrig.hil"""
