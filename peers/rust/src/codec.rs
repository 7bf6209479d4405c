//! Payload codecs: how a typed message becomes bytes and back.

use crate::error::CodecError;
use bytes::Bytes;
use std::marker::PhantomData;

/// Encodes and decodes payloads of type `T`. The `Content-Type` it names travels with every
/// message (§3).
///
/// Two codecs ship with the crate: [`Json`] (serde) and [`Protobuf`] (prost). Implement this trait
/// for any other format.
pub trait Codec<T>: Send + Sync + 'static {
    /// The `Content-Type` header value, e.g. `application/json`.
    fn content_type(&self) -> &'static str;
    /// The payload bytes of `value`.
    fn encode(&self, value: &T) -> Result<Bytes, CodecError>;
    /// The value in `payload`.
    fn decode(&self, payload: &[u8]) -> Result<T, CodecError>;
}

/// JSON through serde: `application/json`.
///
/// ```
/// use sluice::{Codec, Json};
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Greeting { name: String }
/// let codec = Json::<Greeting>::new();
/// let bytes = codec.encode(&Greeting { name: "Ada".into() }).unwrap();
/// assert_eq!(&bytes[..], br#"{"name":"Ada"}"#);
/// assert_eq!(codec.decode(&bytes).unwrap(), Greeting { name: "Ada".into() });
/// assert!(codec.decode(b"not json").is_err());
/// ```
pub struct Json<T>(PhantomData<fn() -> T>);

impl<T> Json<T> {
    /// The JSON codec for `T`.
    pub fn new() -> Self {
        Json(PhantomData)
    }
}

impl<T> Default for Json<T> {
    fn default() -> Self {
        Json::new()
    }
}

impl<T> Codec<T> for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    fn content_type(&self) -> &'static str {
        "application/json"
    }
    fn encode(&self, value: &T) -> Result<Bytes, CodecError> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| CodecError(format!("cannot encode JSON: {e}")))
    }
    fn decode(&self, payload: &[u8]) -> Result<T, CodecError> {
        serde_json::from_slice(payload)
            .map_err(|e| CodecError(format!("payload is not valid JSON for this type: {e}")))
    }
}

/// Protocol Buffers through prost: `application/protobuf`.
///
/// ```
/// use sluice::{Codec, Protobuf};
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Ping { #[prost(string, tag = "1")] text: String }
/// let codec = Protobuf::<Ping>::new();
/// let bytes = codec.encode(&Ping { text: "hi".into() }).unwrap();
/// assert_eq!(codec.decode(&bytes).unwrap().text, "hi");
/// ```
pub struct Protobuf<T>(PhantomData<fn() -> T>);

impl<T> Protobuf<T> {
    /// The protobuf codec for `T`.
    pub fn new() -> Self {
        Protobuf(PhantomData)
    }
}

impl<T> Default for Protobuf<T> {
    fn default() -> Self {
        Protobuf::new()
    }
}

impl<T> Codec<T> for Protobuf<T>
where
    T: prost::Message + Default + 'static,
{
    fn content_type(&self) -> &'static str {
        "application/protobuf"
    }
    fn encode(&self, value: &T) -> Result<Bytes, CodecError> {
        Ok(Bytes::from(value.encode_to_vec()))
    }
    fn decode(&self, payload: &[u8]) -> Result<T, CodecError> {
        T::decode(payload).map_err(|e| {
            CodecError(format!(
                "payload is not a valid protobuf message of this type: {e}"
            ))
        })
    }
}
