"""tinyrig.codegen"""
