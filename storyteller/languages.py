"""The languages a story can be told in, and what each needs from the story craft.

A story has a language (`Story.language`, BCP-47: "en", "zh"), given by the user or detected from
the premise. It decides which prompts the planner and the writer get (`prompts/<code>/` holds a
language's own templates, English is the default folder), the words a beat may start with, how
a line of dialogue is written into a page, how long a page's slots may be, and which voices read
it. The text measures (storyteller.memory.prose) read every language listed here by its script.

Adding a language: a `Language` entry below, its prompt templates in `prompts/<code>/`, a voice
for it in the narrator (see storyteller.agent.voices), and its rules in storyteller.memory.prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from storyteller.errors import InvalidInput


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    # How a page of each stage may begin, forced by the grammar (see storyteller.agent.arc); the
    # stages' guidance in the beat prompt, with {name} {want} {obstacle} {setting} {index} {of}.
    openers: dict[str, list[str]]
    guidance: dict[str, str]
    # A line of dialogue in a page: (speaker, words, told in the past) -> text.
    speech: str = '"{words}" {verb} {speaker}.'
    verbs: tuple[str, str] = ("says", "said")
    # Slot lengths of a page, in characters: (min, max) for narration, says, after.
    slots: dict[str, tuple[int, int]] = field(default_factory=dict)
    # A page's length in words (as storyteller.memory.prose.words counts them).
    page_words: tuple[int, int] = (20, 75)
    # The words of a photo scene and a conversation with it (storyteller.agent.scene, .talk):
    # how a line and the reader's words are written into a page, the fallbacks the model's answer
    # may leave empty, the guide, the facts memory keeps.
    photo: dict[str, str] = field(default_factory=dict)
    # The English words of what vision finds in a photo (labels, places, looks, colours: "cat",
    # "on the left", "smiling", "red") in this language; a word it lacks stays English.
    words: dict[str, str] = field(default_factory=dict)


ENGLISH = Language(
    code="en", name="English",
    openers={
        "opening": ["One day, {hero}", "Every morning, {hero}", "Once, {hero}"],
        "want": ["{hero} wishes", "More than anything, {hero} wants", "{hero} dreams"],
        "trouble": ["But", "Then trouble comes:", "Oh no!"],
        "try": ["So {hero} tries", "Next, {hero}", "{hero} has another idea:", "Once more, {hero}", "This time, {hero}"],
        "turn": ["Suddenly,", "Just then,", "Then {friend}"],
        "resolution": ["At last,", "Together,", "Finally,"],
        "closing": ["That night,", "Now", "And so"],
    },
    guidance={
        "opening": "meet {name} in {setting}; something small and everyday happens",
        "opening+": "{name}'s everyday world, one more moment before things change",
        "want": "{name} wants something: {want}; show why it matters to {name}",
        "trouble": "the problem appears: {obstacle}",
        "trouble+": "the problem grows worse",
        "try1": "{name} tries a way to solve the problem, but it does not work yet",
        "try": "{name} tries a new way to solve the problem (try {index} of {of}); it does not work yet",
        "try+": "{name} tries a new way to solve the problem (try {index} of {of}); it does not work yet, and things get harder",
        "try-last": "{name} tries once more, the hardest way yet, and it almost works",
        "turn": "the turning point: {name} discovers something or gets help from a friend and finds the way",
        "resolution": "the problem is solved: {want}",
        "resolution+": "the happy result unfolds",
        "closing": "a calm last picture: how things are now, warm and happy",
        "continue": "what the reader asked for happens",
        "last": "; this is the last page, so the story ends warmly",
        "want?": "what they long for", "obstacle?": "a problem", "setting?": "their world",
    },
    slots={"narration": (25, 190), "says": (4, 110), "after": (12, 150)},
    photo={
        "subject": "a {label} {where}", "colours": ", mostly {colours}", "look": ", {look}",
        "member": "{name}: {subject}", "trait": "; {personality}",
        "line": "{name} ({tone}): “{text}”", "reader": "You", "reader_line": "{reader} (to {name}): “{text}”",
        "and": " and ", "title": "A photo that speaks", "premise": "What the {who} in the photo might say ({mood}).",
        "beat": "a {mood} conversation in the photo",
        "guide": "Guide", "guide_personality": "a friendly tour guide who knows every thing in the photo",
        "tour_title": "A look at the photo", "tour_premise": "A guided look at the {things} in the photo ({mood}).",
        "tour_beat": "a {mood} tour of the photo", "thing": "the {thing} {where}",
        "shows": "The photo shows a {thing} {where}.",
        "talk_beat": "the reader talks with {name}",
        "answered": "The reader said to {name}: “{said}” {name} answered: “{answer}”",
        "reacted": "When the reader said “{said}” to {name}, {other} said: “{text}”",
    },
)

CHINESE = Language(
    code="zh", name="Chinese",
    openers={
        "opening": ["有一天，{hero}", "每天早上，{hero}", "从前，{hero}"],
        "want": ["{hero}多么希望", "{hero}最想", "{hero}梦想着"],
        "trouble": ["可是，", "麻烦来了：", "糟糕！"],
        "try": ["于是{hero}试着", "接着，{hero}", "{hero}又想了一个办法：", "{hero}再一次", "这一次，{hero}"],
        "turn": ["突然，", "就在这时，", "这时{friend}"],
        "resolution": ["终于，", "他们一起", "最后，"],
        "closing": ["那天晚上，", "现在，", "从此，"],
    },
    guidance={
        "opening": "认识住在{setting}的{name}；发生了一件平常的小事",
        "opening+": "{name}平常的一天，事情改变之前的又一个时刻",
        "want": "{name}想要一样东西：{want}；写出这对{name}为什么重要",
        "trouble": "问题出现了：{obstacle}",
        "trouble+": "问题变得更糟了",
        "try1": "{name}想办法解决问题，可是还没有成功",
        "try": "{name}试了一个新办法（第{index}次，共{of}次），还没有成功",
        "try+": "{name}试了一个新办法（第{index}次，共{of}次），还没有成功，事情更难了",
        "try-last": "{name}最后再试一次，用最难的办法，差一点就成功了",
        "turn": "转折：{name}发现了什么，或者得到朋友的帮助，找到了办法",
        "resolution": "问题解决了：{want}",
        "resolution+": "快乐的结局慢慢展开",
        "closing": "安静的最后一幕：现在一切都很温暖、很幸福",
        "continue": "读者要求的事情发生了",
        "last": "；这是最后一页，故事温暖地结束",
        "want?": "心里盼望的事", "obstacle?": "一个难题", "setting?": "自己的家",
    },
    speech="{speaker}{verb}：“{words}”",
    verbs=("说", "说"),
    slots={"narration": (12, 90), "says": (2, 50), "after": (6, 60)},
    page_words=(15, 80),
    photo={
        "subject": "{label}，{where}", "colours": "，颜色主要是{colours}", "look": "，{look}",
        "member": "{name}：{subject}", "trait": "；{personality}",
        "line": "{name}：“{text}”", "reader": "你", "reader_line": "{reader}对{name}说：“{text}”",
        "and": "和", "title": "会说话的照片", "premise": "照片里的{who}可能在说些什么（{mood}）。",
        "beat": "照片里一段{mood}的对话",
        "guide": "导游", "guide_personality": "一位友好的导游，认识照片里的每样东西",
        "tour_title": "看看这张照片", "tour_premise": "导游带你看照片里的{things}（{mood}）。",
        "tour_beat": "照片里一段{mood}的导览", "thing": "{thing}（{where}）",
        "shows": "照片里有{thing}（{where}）。",
        "talk_beat": "读者和{name}说话",
        "answered": "读者对{name}说：“{said}”{name}回答：“{answer}”",
        "reacted": "读者对{name}说“{said}”时，{other}说：“{text}”",
    },
    words={
        "person": "人", "cat": "猫", "dog": "狗", "bird": "鸟", "horse": "马", "cup": "杯子", "bowl": "碗", "book": "书",
        "chair": "椅子", "plant": "植物", "clock": "钟", "bottle": "瓶子", "car": "汽车",
        "on the left": "在左边", "on the right": "在右边", "in the middle": "在中间", "close up": "离得很近",
        "small in the picture": "在画面里很小",
        "smiling": "在笑", "not smiling": "没有笑", "looking happy": "看起来很开心", "looking sad": "看起来很难过",
        "looking surprised": "看起来很惊讶", "looking scared": "看起来很害怕", "looking angry": "看起来很生气",
        "looking thinking": "在想事情", "looking sleepy": "看起来很困",
        "black": "黑色", "white": "白色", "grey": "灰色", "red": "红色", "orange": "橙色", "yellow": "黄色",
        "green": "绿色", "blue": "蓝色", "sky blue": "天蓝色", "purple": "紫色", "pink": "粉色", "brown": "棕色",
        "beige": "米色",
        "playful": "欢快", "tender": "温柔", "grumpy": "爱抱怨", "spooky": "有点吓人", "calm": "平静", "funny": "好笑",
    },
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (ENGLISH, CHINESE)}


def get(code: str) -> Language:
    """The language of a BCP-47 tag: "zh", "zh-CN" and "zh-Hans" are Chinese; "en-GB" English."""
    base = (code or "en").strip().replace("_", "-").split("-")[0].lower()
    if base not in LANGUAGES:
        raise InvalidInput(f"storyteller does not tell stories in {code!r} yet",
                           fix="use one of: " + ", ".join(f"{c} ({lang.name})" for c, lang in LANGUAGES.items()))
    return LANGUAGES[base]


def say(language: Language, english: str) -> str:
    """What vision found ("a cat", "on the left, close up") in `language`'s words, piece by piece
    (a piece it has no word for stays English)."""
    if not language.words:
        return english
    return "，".join(language.words.get(piece.strip(), piece.strip()) for piece in english.split(","))


def detect(text: str) -> str:
    """The language of a premise, among those storyteller tells stories in: py3langid's guess
    (a small, well-kept language identifier trained on 97 languages) restricted to them, else the
    script (ideographs: Chinese), else English."""
    from storyteller.memory.prose import is_cjk

    identifier = _identifier()
    guess = identifier.classify(text)[0] if identifier is not None else None
    return guess if guess in LANGUAGES else ("zh" if is_cjk(text) else "en")


@lru_cache(maxsize=1)
def _identifier():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        return None
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(LANGUAGES))
    return identifier


# -- what the pictures understand ---------------------------------------------------------------
# The storyboard and the page reader (storyteller/staging.py) know things by English words ("fox",
# "lantern", "run"). For Chinese text, `gloss` adds the English word of each picture-book noun,
# verb, feeling and colour it finds, longest first (猫头鹰 is an owl before 猫 is a cat), so a
# Chinese story's fox is drawn as a fox holding its lantern. Words that are too often part of
# other words (人, 信 in 相信) are left out: better a thing not drawn than the wrong one.
ZH_GLOSSARY = {
    # animals and other figures
    "狐狸": "fox", "狼": "wolf", "松鼠": "squirrel", "兔子": "rabbit", "兔": "rabbit", "熊": "bear", "猫头鹰": "owl",
    "猫": "cat", "小狗": "puppy", "狗": "dog", "老鼠": "mouse", "鼠": "mouse", "刺猬": "hedgehog", "小鸟": "bird",
    "鸟": "bird", "鸭子": "duck", "鸭": "duck", "鸡": "chicken", "猪": "pig", "牛": "cow", "马": "horse", "山羊": "goat",
    "羊": "sheep", "猴子": "monkey", "老虎": "tiger", "狮子": "lion", "大象": "elephant", "鹿": "deer", "青蛙": "frog",
    "乌龟": "turtle", "海龟": "turtle", "鱼": "fish", "海豹": "seal", "企鹅": "penguin", "恐龙": "dinosaur", "龙": "dragon",
    "机器人": "robot", "雪人": "snowman", "蝴蝶": "butterfly", "蜜蜂": "bee", "章鱼": "octopus", "鲸": "whale",
    "男孩": "boy", "女孩": "girl", "孩子": "child", "奶奶": "grandmother", "爷爷": "grandfather", "妈妈": "mother",
    "爸爸": "father", "老师": "teacher", "船长": "captain", "海盗": "pirate", "国王": "king", "公主": "princess",
    "王子": "prince", "宇航员": "astronaut", "面包师": "baker", "女巫": "witch", "巫师": "wizard", "看守人": "keeper",
    # things
    "灯笼": "lantern", "灯塔": "lighthouse", "灯": "lamp", "蜡烛": "candle", "篝火": "campfire", "风筝": "kite",
    "气球": "balloon", "雨伞": "umbrella", "伞": "umbrella", "花": "flower", "树": "tree", "叶子": "leaf", "书": "book",
    "地图": "map", "钥匙": "key", "盒子": "box", "宝藏": "treasure", "宝箱": "chest", "船": "boat", "星星": "star",
    "月亮": "moon", "太阳": "sun", "面包": "bread", "蛋糕": "cake", "苹果": "apple", "帽子": "hat", "围巾": "scarf",
    "篮子": "basket", "背包": "backpack", "包": "bag", "雪橇": "sled", "礼物": "gift", "信封": "letter",
    # places, light and weather
    "森林": "forest", "海边": "beach", "大海": "sea", "海": "sea", "山": "mountain", "河": "river", "湖": "lake",
    "花园": "garden", "家": "home", "房子": "house", "城堡": "castle", "村子": "village", "城市": "city", "沙漠": "desert",
    "晚上": "night", "夜晚": "night", "夜": "night", "早上": "morning", "清晨": "dawn", "傍晚": "evening", "雪": "snow",
    "雨": "rain", "风": "wind", "云": "cloud",
    # actions
    "跳舞": "dance", "走": "walk", "跑": "run", "跳": "jump", "飞": "fly", "睡": "sleep", "看": "look", "找": "search",
    "游泳": "swim", "游": "swim", "吃": "eat", "唱": "sing", "爬": "climb", "坐": "sit", "拥抱": "hug", "抱": "hug",
    "挥手": "wave", "躲": "hide", "读": "read", "说": "say", "喊": "shout", "问": "ask",
    # feelings
    "高兴": "happy", "开心": "happy", "笑": "smile", "欢呼": "hooray", "伤心": "sad", "难过": "sad", "哭": "cry",
    "害怕": "afraid", "惊讶": "surprised", "生气": "angry", "想": "think", "累": "tired", "困": "sleepy",
    # colours
    "红": "red", "橙": "orange", "橘": "orange", "黄": "yellow", "绿": "green", "蓝": "blue", "紫": "purple",
    "粉": "pink", "白": "white", "黑": "black", "灰": "grey", "棕": "brown", "褐": "brown", "金": "gold", "银": "silver",
}
_ZH_LONGEST = max(map(len, ZH_GLOSSARY))
_HAN = re.compile(r"[\u3400-\u9fff]")


def gloss(text: str) -> str:
    """`text`, followed by the English words of the Chinese picture-book words in it (unchanged
    when it has no Chinese)."""
    if not _HAN.search(text):
        return text
    found, i = [], 0
    while i < len(text):
        for size in range(min(_ZH_LONGEST, len(text) - i), 0, -1):
            english = ZH_GLOSSARY.get(text[i:i + size])
            if english:
                found.append(english)
                i += size
                break
        else:
            i += 1
    return f"{text} {' '.join(found)}" if found else text
