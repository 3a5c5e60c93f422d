"""The live app: the split-screen window and headless runs over a camera, a video or a folder of images."""
