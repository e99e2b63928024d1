print("pathway")
