"""/support's words and the crisis reply, built from the helplines and the reviewed crisis
phrases loaded with the content; bot/safety/replies.py says where a reply may go."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.crisis.helplines import (
    ELSEWHERE,
    Helplines,
    Line,
    Region,
    country_name,
    country_named,
    country_of,
)
from bot.crisis.matcher import Matcher
from bot.crisis.phrases import CrisisFile, Need

SUPPORT_START = "support"  # "/start support-GB": a /support button opened a private chat
UNKNOWN_COUNTRY = "I don't know that country. Try /support Germany or /support DE."


def is_support_start(args: str) -> bool:
    """ "support" or "support-GB": the payload a /support button's private chat opens with."""
    return re.fullmatch(rf"{SUPPORT_START}(-[A-Za-z]{{2,9}})?", args) is not None


# ---- The texts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Safety:
    """The helplines, the crisis phrases, and the words built from them."""

    helplines: Helplines | None = None
    replies: dict[str, Need] = field(default_factory=dict)
    matcher: Matcher = field(default_factory=lambda: Matcher([], []))

    @classmethod
    def build(cls, helplines: Helplines, crisis: CrisisFile) -> Safety:
        kinds = [n.kind for n in crisis.need]
        if len(set(kinds)) != len(kinds):
            raise ValueError("need.kind: each need is listed once")
        matcher = Matcher([(n.kind, n.phrases) for n in crisis.need], crisis.exceptions)
        return cls(helplines, {n.kind: n for n in crisis.need}, matcher)

    def counts(self) -> dict[str, int]:
        """For `tandem content check`: how many helplines, regions and crisis phrases."""
        regions = self.helplines.region if self.helplines else ()
        return {
            "helpline regions": len(regions),
            "helplines": sum(len(r.line) for r in regions),
            "crisis phrases": sum(len(n.phrases) for n in self.replies.values()),
        }

    def region(self, zone: str | None = None, code: str | None = None) -> Region | None:
        """The region for a zone (or a code); the elsewhere region when no country matches."""
        if self.helplines is None:
            return None
        wanted = code or country_of(zone) or ELSEWHERE
        by_code = {r.code: r for r in self.helplines.region}
        return by_code.get(wanted) or by_code[ELSEWHERE]

    def country(self, asked: str) -> str | None:
        """The code of a country as typed after /support ("Germany", "DE", "UK", "Deutschland"),
        whether or not it has lines of its own; None for words that name no country."""
        if self.helplines is None or not asked.strip():
            return None
        return country_named(asked, self.helplines.names())

    def _directory(self) -> Line | None:
        found = self.region(code=ELSEWHERE)
        return found.lines("directory")[0] if found else None

    def danger_line(self, region: Region | None) -> str:
        emergency = region.lines("emergency") if region else []
        how = emergency[0].how if emergency else "call your local emergency number"
        return f"🆘 In danger right now? {how[0].upper()}{how[1:]}."

    def lines_text(self, region: Region | None, kinds: Sequence[str]) -> str:
        """Each kind's heading and its lines, for the kinds asked for (emergency aside). A kind
        a country has no line for gets the international directory under its heading (both
        missing: the directory once), so no one is left without somewhere to turn."""
        if region is None or self.helplines is None:
            return ""
        directory = self._directory()
        missing = [
            kind
            for kind in self.helplines.kinds
            if kind in kinds and kind != "directory" and not region.lines(kind)
        ]
        if region.code == ELSEWHERE or directory is None or region.lines("directory"):
            missing = []  # its own directory covers them
        blocks: list[str] = []
        for kind, heading in self.helplines.kinds.items():
            found = region.lines(kind) if kind in kinds or kind == "directory" else []
            if not found and kind in missing[:1] and directory is not None:
                heading = heading if len(missing) == 1 else self.helplines.kinds["directory"]
                where = f"choose {region.name} to see the helplines there."
                blocks.append(f"{heading}\n• {directory.name}: at {directory.host}, {where}")
            if found:
                blocks.append(heading + "\n" + "\n".join(f"• {x.name}: {x.how}" for x in found))
        return "\n\n".join(blocks)

    def assumed(
        self, region: Region | None, zone: str | None, from_code: bool = False, hint: bool = True
    ) -> str:
        """Which region was assumed, from what, and where to look instead (`hint`: how to ask
        /support for another country)."""
        directory = self._directory()
        if region is None or directory is None:
            return ""
        ask = "Send /support with your country (like /support DE), or " if hint else ""
        if region.code != ELSEWHERE:
            source = "your shared chat's timezone" if from_code else f"your timezone {zone}"
            every = f"{directory.name} ({directory.host}) lists the lines for every country."
            return f"I assumed {region.name} from {source}. Somewhere else? {ask}{every}"
        country = country_of(zone)
        if zone and country:
            return (
                f"From your timezone {zone} I assumed {country_name(country)}, where I don't have "
                "lines of my own yet, so these are the lines for anywhere."
                + (
                    " Somewhere else? Send /support with your country (like /support DE)."
                    if hint
                    else ""
                )
            )
        said = f" ({zone})" if zone else ""
        return (
            f"I can't tell your country from your timezone{said}, so these are the lines for "
            "anywhere. "
            + ("/support with your country (like /support DE) gives its lines; " if hint else "")
            + "/timezone sets yours."
        )

    def chosen(self, region: Region | None, code: str) -> str:
        """What a /support with a country says about the lines it gave."""
        directory = self._directory()
        if region is None or directory is None:
            return ""
        if region.code != ELSEWHERE:
            return (
                f"These are the lines for {region.name}, as you asked. Somewhere else? "
                f"{directory.name} ({directory.host}) lists the lines for every country."
            )
        name = country_name(code)
        return (
            f"I don't have lines of my own for {name} yet, so these are the lines for anywhere: "
            f"on {directory.name} ({directory.host}), choose {name} to see its helplines."
        )

    def support(
        self, general: str, zone: str | None, code: str | None = None, asked: str = ""
    ) -> str:
        """The whole /support answer: danger first, the lines, the general text, and whose
        lines they are. `asked`: the country typed after /support, which picks the lines (one
        it doesn't know: the region as without it, and a word on how to name one); else `code`
        (from a /support button's link), else the timezone."""
        wanted = self.country(asked)
        if wanted is not None:
            region = self.region(code=wanted)
            note = self.chosen(region, wanted)
        else:
            region = self.region(zone, code)
            # Words that name no country: say so, unless they are words of danger, which the
            # answer below is for anyway.
            unknown = bool(asked.strip()) and not self.needs(asked)
            note = self.assumed(region, zone, from_code=code is not None, hint=not unknown)
            note = f"{UNKNOWN_COUNTRY} {note}" if unknown else note
        kinds = ("abuse", "crisis")
        parts = [self.danger_line(region), self.lines_text(region, kinds), general.strip(), note]
        return "\n\n".join(p for p in parts if p)

    def needs(self, text: str) -> tuple[str, ...]:
        return self.matcher.needs(text)

    def crisis_reply(self, needs: Sequence[str], zone: str | None) -> str:
        """Gentle words for what was found, then the lines that fit it, for the region."""
        region = self.region(zone)
        chosen = [self.replies[n] for n in needs if n in self.replies]
        kinds = [k for need in chosen for k in need.lines]
        parts = [
            *(need.reply.strip() for need in chosen[:1]),
            self.danger_line(region),
            self.lines_text(region, kinds),
            self.assumed(region, zone),
            "Only you see this: your partner isn't told, and none of it is written to any log.",
        ]
        return "\n\n".join(p for p in parts if p)
