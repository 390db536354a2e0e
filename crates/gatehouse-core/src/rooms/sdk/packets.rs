//! Packet framing: a message is a header packet `[id: u64][0: u32][packet count: u32][type]`
//! followed by `count` data packets `[id: u64][index 1..=count: u32][at most 1024 bytes]`, all
//! integers big-endian, each packet one binary WebSocket frame. [`Reassembler`] reads one
//! connection's packets back into messages within a size limit.

/// Payload bytes per data packet.
pub const PACKET_DATA: usize = 1024;
/// Longest message type, in bytes.
const MAX_TYPE_BYTES: usize = 128;
const PREFIX: usize = 12;

/// One message: its id (a request's, or the one its answer repeats), type and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: u64,
    pub kind: String,
    pub data: Vec<u8>,
}

/// Why a connection's packets cannot be read; each ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// Shorter than its fixed fields, or a type that is not short UTF-8.
    Malformed,
    /// A packet other than the next one of the message under way.
    OutOfOrder,
    /// A data packet of another message than the one under way.
    UnknownMessage,
    /// The message would be larger than the limit.
    TooLarge,
}

impl PacketError {
    /// The close reason (a WebSocket close reason is at most 123 bytes).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed packet: [id u64][index u32][count u32][type] or [id u64][index u32][data]",
            Self::OutOfOrder => "packet out of order: a message's packets come one after another, in order",
            Self::UnknownMessage => "data packet for a message id that is not under way",
            Self::TooLarge => "a message is at most 65536 bytes",
        }
    }
}

/// The packets of message `id` of type `kind` carrying `data`.
pub fn packets(id: u64, kind: &str, data: &[u8]) -> Vec<Vec<u8>> {
    let count = data.len().div_ceil(PACKET_DATA);
    let mut out = Vec::with_capacity(count + 1);
    let mut header = Vec::with_capacity(PREFIX + 4 + kind.len());
    header.extend_from_slice(&id.to_be_bytes());
    header.extend_from_slice(&0u32.to_be_bytes());
    header.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_be_bytes());
    header.extend_from_slice(kind.as_bytes());
    out.push(header);
    for (i, chunk) in data.chunks(PACKET_DATA).enumerate() {
        let mut packet = Vec::with_capacity(PREFIX + chunk.len());
        packet.extend_from_slice(&id.to_be_bytes());
        packet.extend_from_slice(&u32::try_from(i + 1).unwrap_or(u32::MAX).to_be_bytes());
        packet.extend_from_slice(chunk);
        out.push(packet);
    }
    out
}

struct Partial {
    id: u64,
    kind: String,
    count: u32,
    next: u32,
    data: Vec<u8>,
}

/// Reads one connection's packets into messages, holding at most `limit` bytes of payload.
pub struct Reassembler {
    limit: usize,
    partial: Option<Partial>,
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

impl Reassembler {
    /// A reader of messages of at most `limit` payload bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit, partial: None }
    }

    /// Takes the next packet: the message it completes, if any.
    pub fn push(&mut self, packet: &[u8]) -> Result<Option<Message>, PacketError> {
        if packet.len() < PREFIX {
            return Err(PacketError::Malformed);
        }
        let (id, index) = (be_u64(packet), be_u32(&packet[8..]));
        let Some(p) = self.partial.as_mut() else {
            return self.begin(id, index, packet);
        };
        if index == 0 || index != p.next {
            return Err(PacketError::OutOfOrder);
        }
        if id != p.id {
            return Err(PacketError::UnknownMessage);
        }
        let chunk = &packet[PREFIX..];
        if chunk.len() > PACKET_DATA || p.data.len() + chunk.len() > self.limit {
            return Err(PacketError::TooLarge);
        }
        p.data.extend_from_slice(chunk);
        if p.next < p.count {
            p.next += 1;
            return Ok(None);
        }
        Ok(self.partial.take().map(|p| Message {
            id: p.id,
            kind: p.kind,
            data: p.data,
        }))
    }

    fn begin(&mut self, id: u64, index: u32, packet: &[u8]) -> Result<Option<Message>, PacketError> {
        if index != 0 {
            return Err(PacketError::UnknownMessage);
        }
        if packet.len() < PREFIX + 4 || packet.len() > PREFIX + 4 + MAX_TYPE_BYTES {
            return Err(PacketError::Malformed);
        }
        let count = be_u32(&packet[PREFIX..]);
        let kind = std::str::from_utf8(&packet[PREFIX + 4..]).map_err(|_| PacketError::Malformed)?;
        // Refused from the header alone: the smallest payload of `count` packets.
        let smallest = (count as usize).saturating_sub(1).saturating_mul(PACKET_DATA) + usize::from(count > 0);
        if smallest > self.limit {
            return Err(PacketError::TooLarge);
        }
        if count == 0 {
            return Ok(Some(Message {
                id,
                kind: kind.to_owned(),
                data: Vec::new(),
            }));
        }
        self.partial = Some(Partial {
            id,
            kind: kind.to_owned(),
            count,
            next: 1,
            data: Vec::new(),
        });
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(r: &mut Reassembler, packets: &[Vec<u8>]) -> Result<Vec<Message>, PacketError> {
        let mut out = Vec::new();
        for p in packets {
            out.extend(r.push(p)?);
        }
        Ok(out)
    }

    #[test]
    fn a_message_split_over_many_packets_reads_back_whole() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let ps = packets(7, "room.invoke_tool", &data);
        assert_eq!(ps.len(), 1 + 5, "a header and five data packets");
        assert!(ps[1..].iter().all(|p| p.len() <= 12 + PACKET_DATA));
        let got = read_all(&mut Reassembler::new(65536), &ps).unwrap();
        assert_eq!(
            got,
            vec![Message {
                id: 7,
                kind: "room.invoke_tool".into(),
                data
            }]
        );
    }

    #[test]
    fn an_empty_message_is_its_header_alone() {
        let ps = packets(1, "room_ready", &[]);
        assert_eq!(ps.len(), 1);
        assert_eq!(&ps[0][12..16], &[0, 0, 0, 0]);
        let got = read_all(&mut Reassembler::new(10), &ps).unwrap();
        assert_eq!(got[0].kind, "room_ready");
        assert!(got[0].data.is_empty());
    }

    #[test]
    fn messages_follow_one_another_on_one_reader() {
        let mut r = Reassembler::new(65536);
        let mut all = packets(1, "a", b"one");
        all.extend(packets(2, "b", &[9; 2048]));
        let got = read_all(&mut r, &all).unwrap();
        assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(got[1].data.len(), 2048);
    }

    #[test]
    fn a_header_announcing_more_than_the_limit_is_refused_before_any_data() {
        let ps = packets(1, "big", &vec![0; 70_000]);
        assert_eq!(Reassembler::new(65536).push(&ps[0]), Err(PacketError::TooLarge));
        let ps = packets(1, "exact", &vec![0; 65536]);
        assert_eq!(
            read_all(&mut Reassembler::new(65536), &ps).unwrap()[0].data.len(),
            65536
        );
    }

    #[test]
    fn data_packets_beyond_the_limit_are_refused() {
        // A header claiming one packet, then packets that keep coming at full size.
        let mut header = packets(3, "x", &[1]).remove(0);
        header[12..16].copy_from_slice(&1u32.to_be_bytes());
        let mut r = Reassembler::new(100);
        assert_eq!(r.push(&header), Ok(None));
        let mut data = 3u64.to_be_bytes().to_vec();
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&[0; 101]);
        assert_eq!(r.push(&data), Err(PacketError::TooLarge));
    }

    #[test]
    fn packets_out_of_order_or_of_another_message_are_refused() {
        let ps = packets(5, "t", &[0; 3000]);
        let mut r = Reassembler::new(65536);
        r.push(&ps[0]).unwrap();
        assert_eq!(r.push(&ps[2]), Err(PacketError::OutOfOrder));

        let mut r = Reassembler::new(65536);
        r.push(&ps[0]).unwrap();
        let other = packets(6, "t", &[0; 10]);
        assert_eq!(r.push(&other[1]), Err(PacketError::UnknownMessage));
        let mut r = Reassembler::new(65536);
        r.push(&ps[0]).unwrap();
        assert_eq!(
            r.push(&other[0]),
            Err(PacketError::OutOfOrder),
            "a new header mid-message"
        );

        assert_eq!(Reassembler::new(65536).push(&ps[1]), Err(PacketError::UnknownMessage));
    }

    #[test]
    fn short_packets_and_non_utf8_types_are_malformed() {
        let mut r = Reassembler::new(65536);
        assert_eq!(r.push(&[0; 11]), Err(PacketError::Malformed));
        assert_eq!(r.push(&[0; 14]), Err(PacketError::Malformed));
        let mut bad = packets(1, "", &[]).remove(0);
        bad.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(r.push(&bad), Err(PacketError::Malformed));
        assert!(PacketError::TooLarge.reason().len() <= 123);
        assert!(PacketError::Malformed.reason().len() <= 123);
    }
}
