//! The organization's world: accounts, followers and the rules about them, as plain Rust types.
//! Knows nothing of HTTP, SQL or ActivityPub wire formats; a value of a type defined here is
//! valid by construction (parse, don't validate).

pub mod actor;
pub mod block;
pub mod blocklist;
pub mod credentials;
pub mod follower;
pub mod handle;
pub mod language;
pub mod markdown;
pub mod post;
pub mod remote_actor;
pub mod remote_post;
pub mod render;
pub mod signatory;
pub mod translation;
pub mod user;
pub mod username;

pub use actor::{ActorKind, LocalActor, NewActor, ProfileField};
pub use block::BlockedDomain;
pub use follower::{FollowState, Follower};
pub use handle::Handle;
pub use language::Language;
pub use post::{Media, Mention, Post, PostDraft, PostKind, PostState};
pub use remote_actor::RemoteActor;
pub use remote_post::RemotePost;
pub use signatory::{Cosigner, CosignerRef};
pub use translation::Translation;
pub use user::{Action, Login, Role, User};
pub use username::Username;
