def main():
    print("tinyrig")
