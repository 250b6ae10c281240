// How the pages write a time: in China Standard Time, the time the service reads a time given
// without a zone in, whatever zone the screen's computer is set to (a wall's PC often runs in
// UTC).
"use strict";

const CHINA_TIME = new Intl.DateTimeFormat("en-US", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "numeric", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

// a time's year, month, day, hour, minute and second in China, as text
function chinaParts(at) {
  return Object.fromEntries(CHINA_TIME.formatToParts(at).map((p) => [p.type, p.value]));
}

// the day a time (by default now) is in China, as the service reads a day: YYYY-MM-DD
function chinaDay(at = new Date()) {
  const t = chinaParts(new Date(at));
  return `${t.year}-${t.month.padStart(2, "0")}-${t.day.padStart(2, "0")}`;
}

// the midnights in China that begin a day (YYYY-MM-DD) and the day after it, as the service
// reads a time: a whole day is from the first up to the second
function chinaMidnights(day) {
  const after = new Date(`${day}T00:00:00Z`);
  after.setUTCDate(after.getUTCDate() + 1);
  return [`${day}T00:00:00+08:00`, `${after.toISOString().slice(0, 10)}T00:00:00+08:00`];
}

// a time (a Date, or a time as the service writes it): today's by the clock, to the second;
// another day's also by its day, and another year's by its year; in ``full`` (on paper, read
// on another day), by its year, day and clock
function localTime(at, full = false) {
  const t = chinaParts(new Date(at));
  const now = chinaParts(new Date());
  const clock = `${t.hour}:${t.minute}`;
  if (full) return `${t.year}年${t.month}月${t.day}日 ${clock}`;
  if (t.year === now.year && t.month === now.month && t.day === now.day) {
    return `${clock}:${t.second}`;
  }
  return `${t.year === now.year ? "" : `${t.year}年`}${t.month}月${t.day}日 ${clock}`;
}

// the days a deadline names by their name, by how far from today (China keeps no summer time:
// a day from now is tomorrow)
const NEAR_DAYS = { "-1": "昨天", 0: "今天", 1: "明天" };

// a deadline: yesterday's, today's and tomorrow's by the day's name and the clock (今天 16:00,
// to the minute, as deadlines are set); another day's as localTime writes it
function dueTime(at) {
  const day = chinaDay(at);
  for (const [ahead, name] of Object.entries(NEAR_DAYS)) {
    if (day === chinaDay(Date.now() + Number(ahead) * 86400e3)) {
      const t = chinaParts(new Date(at));
      return `${name} ${t.hour}:${t.minute}`;
    }
  }
  return localTime(at);
}

// how long ago a deadline passed, as a case late on it says so: in whole days, else hours,
// else minutes (已超 2 天); none before it passes
function overdueFor(at) {
  const late = Date.now() - new Date(at);
  if (!(late > 0)) return "";
  const [n, unit] = late >= 86400e3 ? [late / 86400e3, "天"]
    : late >= 3600e3 ? [late / 3600e3, "小时"] : [Math.max(1, late / 60e3), "分钟"];
  return `已超 ${Math.floor(n)} ${unit}`;
}
