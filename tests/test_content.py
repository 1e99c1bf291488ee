"""The shipped content is valid and rich enough; broken files are named; prompts never repeat early."""

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.content import (
    AUDIENCES,
    PATHS,
    TOPICS,
    ContentError,
    Library,
    Prompt,
    Texts,
    default_content_dir,
    first_week_prompt,
    fitting,
    load_content,
    pick_prompt,
    topic_key,
)
from bot.likeness import NEAR_DUPLICATE, near_duplicates, similarity

# No prompt may point a partner at the other's phone, messages, accounts or movements: in a
# couple where one partner controls the other, such a nudge becomes a tool for checking up.
FORBIDDEN_PHRASES = (
    "password",
    "passcode",
    "location",
    "tracking",
    "track their",
    "track your partner",
    "whereabouts",
    "read their messages",
    "read your partner's messages",
    "each other's messages",
    "check their messages",
    "check their phone",
    "checking their phone",
    "their phone",
    "partner's phone",
    "each other's phone",
    "where you were",
    "who you were with",
    "where they were",
    "who they were with",
    "spy",
    "snoop",
    "monitor",
)


def test_shipped_content_meets_the_brief(library: Library) -> None:
    counts = library.counts()
    sides = library.tally("audience")
    assert len(library.prompts) >= 320
    assert len(counts) >= 18
    assert sides["doubting"] >= 60 and sides["doubted"] >= 60
    assert counts.get("open_questions", 0) >= 40
    assert counts.get("repair", 0) >= 20
    assert library.tally("home").get("apart", 0) >= 20
    for topic in ("active_listening", "gratitude", "shared_activities"):
        assert counts[topic] >= 20
    assert len(library.questions) >= 15
    assert set(sides) == {"both", "doubting", "doubted"}


def test_prompts_are_actions_not_monitoring(library: Library) -> None:
    for prompt in library.prompts:
        lowered = prompt.text.lower()
        assert "you should" not in lowered, prompt.id
        assert len(prompt.text.split()) <= 55, f"{prompt.id}: about 50 words at most"
        for phrase in FORBIDDEN_PHRASES:
            assert phrase not in lowered, f"{prompt.id} says {phrase!r}"


def test_no_two_shipped_prompts_are_near_duplicates(library: Library) -> None:
    pairs = [f"{a.id} ~ {b.id} ({score:.2f})" for score, a, b in near_duplicates(library.prompts)]
    assert pairs == [], "merge or reword these prompts"


def test_the_scorer_overlaps_meaningful_words_only() -> None:
    assert similarity("Thank your partner tonight.", "thank YOUR partner, tonight!") == 1.0
    assert similarity("Take a slow walk together.", "Cook a new recipe.") == 0.0
    assert similarity("the and of your", "a an it their") == 0.0  # stop words only
    assert similarity("Listening to worries", "they listened to worries") == 1.0  # crude stems
    a, b = "Plan a picnic in the park.", "Plan a walk in the park."
    assert similarity(a, b) == similarity(b, a) == pytest.approx(2 / 4)


def test_a_reworded_prompt_scores_as_a_near_duplicate() -> None:
    # active_listening-11 and open_communication-05 as they shipped before issue 11 merged them.
    old_listening = (
        "Choose a word either of you can say, like 'pause', when you feel talked over. Try it out "
        "today in a light conversation so it feels easy to use later, and agree to stop and "
        "listen when you hear it."
    )
    old_communication = (
        "Agree on a short signal, like 'pause please', that either of you can use when a talk "
        "starts to get heated. Try it once today in a light moment, so it already feels familiar "
        "before you ever need it."
    )
    assert similarity(old_listening, old_communication) >= NEAR_DUPLICATE
    prompts = [_prompt("x-01", text=old_listening), _prompt("x-02", text=old_communication)]
    [(score, first, second)] = near_duplicates(prompts)
    assert (first.id, second.id) == ("x-01", "x-02") and score >= NEAR_DUPLICATE


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(default_content_dir(), target)
    return target


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda s: s.replace('topic = "gratitude"', 'topic = "astrology"'), "topic"),
        (lambda s: s.replace('for = "both"', 'for = "everyone"', 1), "prompt[0].for"),
        (lambda s: s.replace('text = "', 'text = "{partner} ', 1), "prompt[0].text"),
        (lambda s: s.replace('text = "', 'text = "' + "x" * 600, 1), "prompt[0].text"),
        (lambda s: s.replace('id = "gratitude-02"', 'id = "gratitude-01"'), "prompt[1].id"),
        (lambda s: s.replace('for = "both"', 'for = "both"\nwhen = "noon"', 1), "prompt[0].when"),
        (lambda s: s.replace('for = "both"', 'for = "both"\nhome = "away"', 1), "prompt[0].home"),
        (lambda s: s + "\n[[prompt\n", "not valid TOML"),
    ],
)
def test_invalid_content_names_file_and_field(tmp_path: Path, edit, named: str) -> None:  # type: ignore[no-untyped-def]
    root = _copy(tmp_path)
    path = root / "prompts" / "gratitude.toml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ContentError) as err:
        load_content(root)
    assert "gratitude.toml" in str(err.value)
    assert named in str(err.value)


# Prompts: time of day and home


@pytest.mark.parametrize(
    ("when", "fits_at"),
    [
        ("any", set(range(24))),
        ("morning", set(range(5, 12))),
        ("evening", {*range(16, 24), *range(0, 5)}),
    ],
)
def test_a_prompt_fits_the_hours_of_its_moment(when: str, fits_at: set[int]) -> None:
    prompt = _prompt("x-01", when=when)
    assert {hour for hour in range(24) if prompt.fits(hour, apart=False)} == fits_at
    assert {hour for hour in range(24) if prompt.fits(hour, apart=True)} == fits_at


def test_home_tags_reach_only_the_couples_they_were_written_for() -> None:
    together, apart, anywhere = (_prompt("x-01", home=h) for h in ("together", "apart", "any"))
    assert not any(together.fits(hour, apart=True) for hour in range(24))
    assert not any(apart.fits(hour, apart=False) for hour in range(24))
    assert together.fits(9, apart=False) and apart.fits(9, apart=True)
    assert anywhere.fits(9, apart=True) and anywhere.fits(9, apart=False)
    with pytest.raises(ValueError, match="local_hour"):
        anywhere.fits(24, apart=False)


def test_shipped_tags_fit_the_words(library: Library) -> None:
    for prompt in library.prompts:
        lowered = prompt.text.lower()
        if "tonight" in lowered or "before bed" in lowered or "after dinner" in lowered:
            assert prompt.when == "evening", prompt.id
        if "this morning" in lowered or "at breakfast" in lowered or "over breakfast" in lowered:
            assert prompt.when == "morning", prompt.id


# The rule: a prompt without a time-of-day tag may arrive at any hour, and by default in the
# evening, so it never names the day as the one still ahead ("today", "before the day is out").
# It says "now", "next time", "this week", or nothing; a prompt whose moment is the point is
# tagged `when = "morning"` or `"evening"` instead.
DAY_WORDS = re.compile(
    r"\btoday\b|before the day is out|later in the day|rest of the day|this afternoon", re.I
)


def test_an_untagged_prompt_never_says_today(library: Library) -> None:
    says_today = [p.id for p in library.prompts if p.when == "any" and DAY_WORDS.search(p.text)]
    assert says_today == [], "untagged prompts arrive in the evening too: reword or tag them"


def test_pick_skips_prompts_that_do_not_fit() -> None:
    library = _library(
        _prompt("a-01", topic="gratitude", when="morning"),
        _prompt("a-02", topic="gratitude", when="evening"),
        _prompt("a-03", topic="gratitude", home="together"),
        _prompt("a-04", topic="patience", when="morning"),
    )
    topics = ["gratitude", "patience"]
    evening_apart = fitting(20, apart=True)
    seen: set[str] = set()
    for _ in range(3):
        pick = pick_prompt(library, topics, None, seen, seed=1, fits=evening_apart)
        seen.add(pick.prompt.id)
    assert seen == {"a-02"}  # the only prompt that fits an evening send to a couple apart
    morning_together = fitting(8, apart=False)
    shown = [
        pick_prompt(library, topics, None, set(), seed=s, fits=morning_together).prompt.id
        for s in range(30)
    ]
    assert set(shown) <= {"a-01", "a-03", "a-04"}


def test_pick_falls_back_to_every_prompt_when_none_fits() -> None:
    library = _library(
        _prompt("a-01", topic="gratitude", when="morning"),
        _prompt("a-02", topic="patience", when="evening"),
    )
    pick = pick_prompt(library, ["gratitude"], None, set(), seed=1, fits=fitting(20, apart=False))
    assert pick.prompt.id == "a-01"  # nothing in gratitude fits 8 pm; a pick still comes


def test_pick_serves_one_audience_at_a_time() -> None:
    library = _library(
        _prompt("a-01", topic="gratitude"),
        _prompt("a-02", topic="gratitude", audience="doubting"),
        _prompt("a-03", topic="gratitude", audience="doubted"),
        _prompt("a-04", topic="patience", audience="doubting"),
    )
    for audience, expected in (
        ("both", {"a-01"}),
        ("doubting", {"a-02", "a-04"}),
        ("doubted", {"a-03"}),
    ):
        seen: set[str] = set()
        last = None
        for _ in range(len(expected)):
            pick = pick_prompt(library, ["gratitude", "patience"], last, seen, 3, audience=audience)
            assert not pick.new_cycle
            seen.add(pick.prompt.id)
            last = pick.prompt.topic
        assert seen == expected
    # patience has nothing for the doubted side: the other topics step in.
    pick = pick_prompt(library, ["patience"], None, set(), seed=1, audience="doubted")
    assert pick.prompt.id == "a-03"
    with pytest.raises(ValueError, match="audience"):
        pick_prompt(library, ["gratitude"], None, set(), seed=1, audience="everyone")


def test_every_topic_is_reachable_at_any_hour_and_home(library: Library) -> None:
    for topic in library.by_topic:
        for hour in (8, 14, 20):
            for apart in (False, True):
                pick = pick_prompt(library, [topic], None, set(), 5, fits=fitting(hour, apart))
                assert pick.prompt.fits(hour, apart), (topic, hour, apart)


# The first week


def test_the_first_week_is_seven_gentle_prompts_for_both(library: Library) -> None:
    week = [first_week_prompt(library, day) for day in range(7)]
    assert len({p.id for p in week if p is not None}) == 7
    for prompt in week:
        assert prompt is not None
        assert (prompt.audience, prompt.when, prompt.home) == ("both", "any", "any")
    assert first_week_prompt(library, 7) is None
    assert first_week_prompt(library, 400) is None
    assert first_week_prompt(library, -1) == week[0]


@pytest.mark.parametrize(
    ("ids", "named"),
    [
        (["gratitude-01"] * 7, "prompts[1]: 'gratitude-01' is listed twice"),
        (["gratitude-01"], "exactly 7"),
        (["no_such-01", "b", "c", "d", "e", "f", "g"], "prompts[0]: no prompt has id"),
    ],
)
def test_an_invalid_first_week_names_the_entry(tmp_path: Path, ids: list[str], named: str) -> None:
    root = _copy(tmp_path)
    (root / "first_week.toml").write_text(f"prompts = {ids!r}\n".replace("'", '"'))
    with pytest.raises(ContentError, match=r"first_week\.toml") as err:
        load_content(root)
    assert named in str(err.value)


def test_the_first_week_holds_only_prompts_for_both(tmp_path: Path, library: Library) -> None:
    one_sided = next(p.id for p in library.prompts if p.audience == "doubting")
    root = _copy(tmp_path)
    path = root / "first_week.toml"
    path.write_text(path.read_text().replace(library.first_week[3], one_sided))
    with pytest.raises(ContentError, match=r"first_week\.toml: prompts\[3\].*for both"):
        load_content(root)
    path.unlink()
    with pytest.raises(ContentError, match=r"first_week\.toml: missing"):
        load_content(root)


# Check-in questions


def test_every_point_of_the_scale_has_a_label(library: Library) -> None:
    first = library.question_by_id["checkin-01"]
    assert first.text == "How at ease did you feel with each other today?"
    for question in library.questions:
        assert len(question.labels) == 5
        assert [question.label(s) for s in range(1, 6)] == list(question.labels)
        assert (question.low, question.high) == (question.labels[0], question.labels[4])
    with pytest.raises(ValueError, match="score"):
        first.label(0)
    texts = " ".join(q.text.lower() for q in library.questions)
    for theme in ("count on", "believed", "disagree"):
        assert theme in texts


@pytest.mark.parametrize(
    ("labels", "named"),
    [
        ('["low", "high"]', "labels"),
        ('["a", "b", "c", "d", "a"]', "differ"),
        ('["a", "b", "", "d", "e"]', "labels.2"),
    ],
)
def test_invalid_labels_name_the_question(tmp_path: Path, labels: str, named: str) -> None:
    root = _copy(tmp_path)
    path = root / "checkins.toml"
    text = path.read_text()
    first = text.index("labels = ")
    end = text.index("\n", first)
    path.write_text(text[:first] + f"labels = {labels}" + text[end:])
    with pytest.raises(ContentError, match=r"checkins\.toml: question\.0\.labels") as err:
        load_content(root)
    assert named in str(err.value)


# Rotation


def test_rotation_covers_every_prompt_before_any_repeats(library: Library) -> None:
    topics = ["gratitude", "patience"]
    seen: set[str] = set()
    last = None
    order: list[str] = []
    pool = [p for t in topics for p in library.by_topic[t] if p.audience == "both"]
    for _ in range(len(pool)):
        pick = pick_prompt(library, topics, last, seen, seed=7)
        assert not pick.new_cycle
        assert pick.prompt.id not in seen
        assert pick.prompt.audience == "both"
        seen.add(pick.prompt.id)
        order.append(pick.prompt.topic)
        last = pick.prompt.topic
    assert order[:4] == ["gratitude", "patience", "gratitude", "patience"]  # topics take turns
    again = pick_prompt(library, topics, last, seen, seed=7)
    assert again.new_cycle


def test_each_couple_gets_its_own_order(library: Library) -> None:
    first = [pick_prompt(library, list(TOPICS), None, set(), seed=s).prompt.id for s in range(20)]
    assert len(set(first)) > 1


def _prompt(
    prompt_id: str,
    *,
    topic: str = "gratitude",
    audience: str = "both",
    when: str = "any",
    home: str = "any",
    text: str = "Thank your partner for one thing.",
    path: str = "both",
    focus: str = "none",
) -> Prompt:
    return Prompt.model_validate(
        {
            "id": prompt_id,
            "topic": topic,
            "for": audience,
            "text": text,
            "when": when,
            "home": home,
            "path": path,
            "focus": focus,
        }
    )


def _library(*prompts: Prompt) -> Library:
    texts = Texts(welcome="w", help="h", privacy="p", support="s")
    return Library.build(prompts, (), texts)


# Paths and the balance of the two sides (issue 23)


def test_every_prompt_carries_a_path(library: Library) -> None:
    assert set(library.tally("path")) == set(PATHS)
    with pytest.raises(ValidationError, match="path"):
        Prompt.model_validate({"id": "x-01", "topic": "gratitude", "for": "both", "text": "Hi."})


def test_the_breach_is_named_only_in_private_on_its_path(library: Library) -> None:
    named = [p for p in library.prompts if p.names_breach]
    assert named, "the partner who broke trust needs prompts that name what happened"
    for prompt in named:
        assert prompt.path == "breach" and prompt.audience != "both", prompt.id
    with pytest.raises(ValidationError, match="names the breach"):
        _prompt("x-01", audience="doubted", text="Apologise for the affair.")
    with pytest.raises(ValidationError, match="names the breach"):
        _prompt("x-01", audience="both", path="breach", text="Talk about the affair.")


def test_free_practice_never_picks_a_prompt_that_names_the_breach(library: Library) -> None:
    for audience in AUDIENCES:
        for seed in range(40):
            seen: set[str] = set()
            pick = pick_prompt(library, list(TOPICS), None, seen, seed, audience=audience)
            assert not pick.prompt.names_breach
    library2 = _library(
        _prompt("a-01", audience="doubted", path="breach", text="Apologise for the affair."),
        _prompt("a-02", audience="doubted", path="worry"),
        _prompt("a-03", audience="doubted"),
    )
    picks = {
        path: {
            pick_prompt(
                library2, ["gratitude"], None, set(), s, audience="doubted", path=path
            ).prompt.id
            for s in range(40)
        }
        for path in (None, "breach", "worry")
    }
    assert picks == {None: {"a-02", "a-03"}, "breach": {"a-01", "a-03"}, "worry": {"a-02", "a-03"}}
    with pytest.raises(ValueError, match="path"):
        pick_prompt(library2, ["gratitude"], None, set(), 1, path="someday")


def test_focus_belongs_to_its_side() -> None:
    with pytest.raises(ValidationError, match="repair"):
        _prompt("x-01", audience="doubting", focus="repair")
    with pytest.raises(ValidationError, match="own_worry"):
        _prompt("x-01", audience="doubting", focus="own_worry", path="both")
    assert _prompt("x-01", audience="doubting", focus="own_worry", path="worry").focus


# The rule: after a breach, the partner who broke trust carries the repair, and the hurt
# partner's feelings are heard, never managed. So few doubting-side prompts may ask that
# partner to calm their own worry (focus = "own_worry", only on the worry path), and a good
# share of the doubted side's prompts carry the work of repair (focus = "repair").
OWN_WORRY_AT_MOST = 0.12  # of the doubting side's prompts
REPAIR_AT_LEAST = 0.40  # of the doubted side's prompts that can reach a couple after a breach


def test_the_hurt_partner_is_not_asked_to_manage_the_worry(library: Library) -> None:
    doubting = [p for p in library.prompts if p.audience == "doubting"]
    own_worry = [p for p in doubting if p.focus == "own_worry"]
    assert len(own_worry) / len(doubting) <= OWN_WORRY_AT_MOST, [p.id for p in own_worry]
    assert not [p.id for p in own_worry if p.suits("breach")]


def test_the_partner_who_broke_trust_carries_the_repair(library: Library) -> None:
    doubted = [p for p in library.prompts if p.audience == "doubted" and p.suits("breach")]
    repair = [p for p in doubted if p.focus == "repair"]
    own_worry = [p for p in library.prompts if p.focus == "own_worry"]
    assert len(repair) / len(doubted) >= REPAIR_AT_LEAST
    assert len(repair) >= 3 * len(own_worry)
    # What issue 23 found missing, each present: a full apology, answering again, the "why"
    # conversation, change shown over time; and for the hurt partner: the pace, triggers.
    texts = " ".join(p.text.lower() for p in library.prompts if p.path == "breach")
    for theme in ("full apology", "already told you", "'why'", "three months", "pace", "trigger"):
        assert theme in texts, theme


def test_every_topic_is_listed_and_has_a_file(library: Library) -> None:
    assert set(library.by_topic) == set(TOPICS)
    readme = (default_content_dir() / "README.md").read_text()
    order = readme[readme.index("Topics, in the order") :].split(".", 1)[0]
    assert [t.strip() for t in order.split(":", 1)[1].split(",")] == list(TOPICS)
    for topic in ("intimacy", "home_fairness", "parenting", "family_friends", "money", "digital"):
        assert len(library.by_topic[topic]) >= 20, topic
        assert topic_key(topic) == topic and topic_key(TOPICS[topic]) == topic
    assert topic_key("chores") == "home_fairness" and topic_key("in-laws") == "family_friends"
    assert len(",".join(TOPICS)) <= 400  # a space's topics column
