//! SETTINGS parameters (RFC 9113 §6.5.1, §6.5.2).

use super::super::error::{H2Error, Violation};
use super::{DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE};

/// A SETTINGS parameter identifier (§6.5.2); unknown ones are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingId {
    /// 0x1 SETTINGS_HEADER_TABLE_SIZE
    HeaderTableSize,
    /// 0x2 SETTINGS_ENABLE_PUSH
    EnablePush,
    /// 0x3 SETTINGS_MAX_CONCURRENT_STREAMS
    MaxConcurrentStreams,
    /// 0x4 SETTINGS_INITIAL_WINDOW_SIZE
    InitialWindowSize,
    /// 0x5 SETTINGS_MAX_FRAME_SIZE
    MaxFrameSize,
    /// 0x6 SETTINGS_MAX_HEADER_LIST_SIZE
    MaxHeaderListSize,
    /// Anything else (such as 0x8 SETTINGS_ENABLE_CONNECT_PROTOCOL): ignored.
    Unknown(u16),
}

impl SettingId {
    /// The identifier for a 16-bit code.
    pub fn from_u16(id: u16) -> SettingId {
        match id {
            0x1 => SettingId::HeaderTableSize,
            0x2 => SettingId::EnablePush,
            0x3 => SettingId::MaxConcurrentStreams,
            0x4 => SettingId::InitialWindowSize,
            0x5 => SettingId::MaxFrameSize,
            0x6 => SettingId::MaxHeaderListSize,
            other => SettingId::Unknown(other),
        }
    }

    /// The 16-bit code.
    pub fn to_u16(self) -> u16 {
        match self {
            SettingId::HeaderTableSize => 0x1,
            SettingId::EnablePush => 0x2,
            SettingId::MaxConcurrentStreams => 0x3,
            SettingId::InitialWindowSize => 0x4,
            SettingId::MaxFrameSize => 0x5,
            SettingId::MaxHeaderListSize => 0x6,
            SettingId::Unknown(other) => other,
        }
    }
}

/// The parameters of a SETTINGS frame, validated; iterate them in order
/// with [`SettingsParams::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsParams<'a> {
    payload: &'a [u8],
}

impl<'a> SettingsParams<'a> {
    /// Validates a payload whose length is a multiple of 6.
    ///
    /// # Errors
    ///
    /// A connection error: PROTOCOL_ERROR for SETTINGS_ENABLE_PUSH other
    /// than 0 or 1 and SETTINGS_MAX_FRAME_SIZE outside 2^14..=2^24−1,
    /// FLOW_CONTROL_ERROR for SETTINGS_INITIAL_WINDOW_SIZE above 2^31−1.
    pub(crate) fn new(payload: &'a [u8]) -> Result<Self, H2Error> {
        let params = SettingsParams { payload };
        for (id, value) in params.iter() {
            let invalid = |name| Err(H2Error::conn(Violation::InvalidSetting { name, value }));
            match id {
                SettingId::EnablePush if value > 1 => return invalid("SETTINGS_ENABLE_PUSH"),
                SettingId::InitialWindowSize if value > i32::MAX as u32 => {
                    return Err(H2Error::conn(Violation::InitialWindowTooLarge(value)));
                }
                SettingId::MaxFrameSize
                    if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) =>
                {
                    return invalid("SETTINGS_MAX_FRAME_SIZE");
                }
                _ => {}
            }
        }
        Ok(params)
    }

    /// The parameters in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (SettingId, u32)> + 'a {
        self.payload
            .chunks_exact(6)
            .filter_map(|p| <[u8; 6]>::try_from(p).ok())
            .map(|[i0, i1, v0, v1, v2, v3]| {
                (
                    SettingId::from_u16(u16::from_be_bytes([i0, i1])),
                    u32::from_be_bytes([v0, v1, v2, v3]),
                )
            })
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}
