"""Facts about FER-2013 that every part of the project agrees on."""

# Index order is the FER-2013 CSV label order sorted alphabetically, which is also the
# order of the image-folder layout; the CSV's own integer labels are remapped to it on read.
CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
NUM_CLASSES = len(CLASSES)
# FER+ and AffectNet add contempt; the same names, still in alphabetical order.
CLASSES_WITH_CONTEMPT: tuple[str, ...] = tuple(sorted((*CLASSES, "contempt")))
IMAGE_SIZE = 48

# Image files every reader and source accepts (lower-case suffixes).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".webp", ".tif", ".tiff")
# Video files a corpus run looks for in a folder (lower-case suffixes; OpenCV's FFmpeg reads them all).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv",
                                   ".flv", ".ts", ".mts", ".m2ts", ".3gp", ".ogv")

# fer2013.csv labels: 0=Angry 1=Disgust 2=Fear 3=Happy 4=Sad 5=Surprise 6=Neutral.
CSV_LABEL_TO_CLASS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

SPLIT_PREFIXES = {"val": "PublicTest", "test": "PrivateTest"}
CSV_USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}

DATA_HELP = (
    "FER-2013 is available from the Kaggle challenge 'challenges-in-representation-learning-facial-"
    "expression-recognition-challenge' (fer2013.csv) or as the image-folder copy 'msambare/fer2013' "
    "(train/<class>/*.jpg, test/<class>/*.jpg). Point data.root (or the FER2013_ROOT environment "
    "variable) at either: a folder holding train/ and test/, a folder holding fer2013.csv, or the CSV itself."
)
