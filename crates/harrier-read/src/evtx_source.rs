//! EVTX: the file is cut into its 64 KiB chunks by one thread; each chunk's records are
//! rendered and normalized on any core.

use crate::pipeline::{Outcome, Step};
use crate::report::{Place, Problem};
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
use harrier_event::{Provenance, SourceFile, Timestamp};
use std::io::{Read, Seek};
use std::sync::Arc;

pub(crate) const CHUNK_BYTES: u64 = 65_536;

/// One chunk, ready to parse on any thread.
pub(crate) struct ChunkWork {
    pub source: Arc<SourceFile>,
    pub number: u64,
    pub data: EvtxChunkData,
}

/// Sends the chunks of one EVTX file in record order (the order Windows reads a log that has
/// wrapped around), and a problem for each chunk that cannot be read.
pub(crate) fn produce<R: Read + Seek>(
    reader: R,
    source: &Arc<SourceFile>,
    send: &mut dyn FnMut(Step),
) {
    let mut parser = match EvtxParser::from_read_seek(reader) {
        Ok(parser) => parser,
        Err(error) => {
            send(Step::Problem(Problem::new(
                &source.path,
                Place::File,
                error_chain(&error),
            )));
            return;
        }
    };
    let declared_chunks = u64::from(parser.header().chunk_count);
    let mut next_number = 0;
    for chunk in parser.chunks() {
        match chunk {
            Ok(data) => {
                let number = data.number.unwrap_or(next_number);
                next_number = number + 1;
                send(Step::Work(crate::pipeline::Work::Evtx(ChunkWork {
                    source: source.clone(),
                    number,
                    data,
                })));
            }
            Err(error) => {
                let number = match &error {
                    EvtxError::FailedToParseChunk { chunk_id, .. } => *chunk_id,
                    _ => next_number,
                };
                next_number = number + 1;
                // Past the chunks the file header declares lies preallocated space, which
                // Windows leaves with stale bytes: no records are lost there.
                if number >= declared_chunks {
                    send(Step::UnusedChunk);
                } else {
                    send(Step::Problem(Problem::new(
                        &source.path,
                        Place::Chunk(number),
                        error_chain(&error),
                    )));
                }
            }
        }
        send(Step::Progress(CHUNK_BYTES));
    }
}

impl ChunkWork {
    pub(crate) fn process(mut self, settings: &Arc<ParserSettings>) -> Outcome {
        let mut outcome = Outcome::default();
        let path = self.source.path.clone();
        let number = self.number;
        let mut chunk = match self.data.parse(settings.clone()) {
            Ok(chunk) => chunk,
            Err(error) => {
                outcome.problems.push(Problem::new(
                    &path,
                    Place::Chunk(number),
                    error_chain(&error),
                ));
                return outcome;
            }
        };
        for record in chunk.iter() {
            let result = record.and_then(|record| {
                let record_id = record.event_record_id;
                let header_time = Timestamp::from_unix_micros(record.timestamp.as_microsecond());
                record
                    .into_json_bytes()
                    .map(|rendered| (record_id, header_time, rendered.data))
            });
            match result {
                Ok((record_id, header_time, json)) => {
                    let place = Place::Record {
                        chunk: Some(number),
                        record: record_id,
                    };
                    match serde_json::from_slice(&json) {
                        Ok(document) => {
                            let provenance = Provenance {
                                source: self.source.clone(),
                                record_id,
                                timestamp: None,
                            };
                            match harrier_normalize::normalize(document, provenance) {
                                Ok(mut event) => {
                                    event.provenance.timestamp =
                                        event.provenance.timestamp.or(header_time);
                                    outcome.events.push(event);
                                }
                                Err(error) => outcome.problems.push(Problem::new(
                                    &path,
                                    place,
                                    error.to_string(),
                                )),
                            }
                        }
                        Err(error) => outcome.problems.push(Problem::new(
                            &path,
                            place,
                            format!("rendered JSON is invalid: {error}"),
                        )),
                    }
                }
                Err(error) => outcome.problems.push(Problem::new(
                    &path,
                    record_place(&error, number),
                    error_chain(&error),
                )),
            }
        }
        outcome
    }
}

fn record_place(error: &EvtxError, chunk: u64) -> Place {
    match error {
        EvtxError::FailedToParseRecord { record_id, .. } => Place::Record {
            chunk: Some(chunk),
            record: *record_id,
        },
        EvtxError::FailedToReadRecordAt { offset, .. } => Place::RecordAt {
            chunk: Some(chunk),
            offset: *offset,
        },
        _ => Place::Chunk(chunk),
    }
}

/// An error with its causes, `a: b: c`, so the message names what went wrong, not only where.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
