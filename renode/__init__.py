"""tinyrig.renode"""
