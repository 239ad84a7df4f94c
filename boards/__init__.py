"""tinyrig.boards"""
