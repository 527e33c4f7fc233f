//! UTC calendar dates of millisecond timestamps (H. Hinnant's `civil_from_days` and
//! `days_from_civil`): the vendor's record ids and date parameters, and the access log's
//! timestamps. Pure arithmetic, no clock.

/// A UTC date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// The UTC date and time of `ms` since the epoch (H. Hinnant's `civil_from_days`).
pub fn civil_from_ms(ms: u64) -> Civil {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let tod = (secs % 86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil { year, month, day, hour: tod / 3600, minute: tod % 3600 / 60, second: tod % 60 }
}

/// Milliseconds since the epoch of a UTC date and time; `None` for an invalid date or one before
/// 1970 (`days_from_civil`).
pub fn ms_from_civil(c: Civil) -> Option<u64> {
    let leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1970..=9999).contains(&c.year)
        || !(1..=12).contains(&c.month)
        || c.day == 0
        || c.day > days_in[(c.month - 1) as usize]
        || c.hour > 23
        || c.minute > 59
        || c.second > 59
    {
        return None;
    }
    let y = if c.month <= 2 { c.year - 1 } else { c.year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(c.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(c.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(c.hour * 3600 + c.minute * 60 + c.second);
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        let c = civil_from_ms(1_477_393_325_000);
        assert_eq!(c, Civil { year: 2016, month: 10, day: 25, hour: 11, minute: 2, second: 5 });
        assert_eq!(ms_from_civil(c), Some(1_477_393_325_000));
        assert_eq!(civil_from_ms(0), Civil { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 });
        let leap = Civil { year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59 };
        assert_eq!(civil_from_ms(ms_from_civil(leap).unwrap()), leap);
        assert_eq!(ms_from_civil(Civil { day: 30, ..leap }), None);
        assert_eq!(ms_from_civil(Civil { year: 2023, day: 29, ..leap }), None);
        assert_eq!(ms_from_civil(Civil { year: 1969, ..leap }), None);
        assert_eq!(ms_from_civil(Civil { hour: 24, ..leap }), None);
    }
}
