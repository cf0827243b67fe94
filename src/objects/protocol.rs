//! The typed messages between the Worker and its two Durable Objects, and the one client
//! function for each object. Both objects and the HTTP layer import this module; neither object
//! imports the other.
//!
//! Every ledger operation is a variant of [`LedgerRequest`] carrying its own call type, and
//! each call type names its reply type ([`LedgerCall::Reply`]), so a caller cannot expect the
//! wrong answer and the compiler lists every operation in one place.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use worker::{Env, Result};

use super::rpc;
use crate::core::conversation::plan::Reply;
use crate::core::conversation::Faq;
use crate::core::gate::consent::{ConsentRecord, ConsentStatus};
use crate::core::gate::{GateRequest, GateVerdict};
use crate::core::journey::{
    Delivery, Fact, HeldSlot, Registration, ShopperSignal, SlotChange, Summary,
};
use crate::core::metrics::MetricsBy;
use crate::core::optimizer::Learning;
use crate::core::playbook::{Caps, ConsentMode, Playbook};
use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::payloads::{Checkout, Order};
use crate::core::shopify::shop::ShopRecord;
use crate::core::values::ids::{CheckoutToken, ShopDomain, Wamid};
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::core::whatsapp::inbound::InboundEvent;
use crate::core::whatsapp::routing::{Endpoint, Onboarding};
use crate::core::whatsapp::templates::{TemplateInfo, TemplateUpdate};

// ---- the cart's object ----

/// What the Worker (or the ledger's outbox) tells a cart's object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CartCommand {
    Checkout {
        checkout: Checkout,
        event_id: Option<String>,
    },
    Order {
        order: Order,
    },
    Deleted,
    /// The app was uninstalled or the shop's data erased: the journey ends.
    ShopGone,
    Status {
        wamid: Wamid,
        delivery: Delivery,
    },
    Shopper {
        signal: ShopperSignal,
    },
    /// Erase the journey whole (customer or shop redaction).
    Erase,
    /// The recovery link with this token was opened: where to send the shopper.
    Recover {
        token: String,
    },
}

impl CartCommand {
    /// Whether the command may stop a send: delivered before statuses and the like, so a
    /// cart waiting for its pacing slot hears of an opt-out first.
    pub fn stops_sending(&self) -> bool {
        matches!(
            self,
            CartCommand::Shopper { .. } | CartCommand::ShopGone | CartCommand::Erase
        )
    }
}

/// What a cart answers: for `Recover`, the checkout URL with the discount applied.
#[derive(Serialize, Deserialize, Default)]
pub struct CartAnswer {
    pub redirect: Option<String>,
}

/// Delivers a command to the object of `shop` + `checkout_token`.
pub async fn tell_cart(
    env: &Env,
    shop: &ShopDomain,
    checkout_token: &CheckoutToken,
    command: &CartCommand,
) -> Result<CartAnswer> {
    let stub = env
        .durable_object("CART")?
        .get_by_name(&format!("{shop}:{checkout_token}"))?;
    // The shop rides in the path: the object's own name is not readable everywhere.
    rpc::post(&stub, shop.as_str(), command).await
}

/// Delivers a command to the cart whose object id a recovery link names (the object knows
/// its shop; an id of no cart finds an empty object, which answers nothing). `None` when the
/// id is not one of this namespace's.
pub async fn tell_cart_by_id(
    env: &Env,
    object_id: &str,
    command: &CartCommand,
) -> Result<Option<CartAnswer>> {
    let namespace = env.durable_object("CART")?;
    let Ok(stub) = namespace
        .id_from_string(object_id)
        .and_then(|id| id.get_stub())
    else {
        return Ok(None);
    };
    rpc::post(&stub, "", command).await.map(Some)
}

// ---- the shop's ledger ----

/// Asks the ledger that keeps what shoppers sent to a business number no shop has connected
/// (yet, or any more): their opt-outs apply once a shop connects it.
pub async fn ask_number<C: LedgerCall>(
    env: &Env,
    phone_number_id: &str,
    call: C,
) -> Result<C::Reply> {
    let stub = env
        .durable_object("SHOP")?
        .get_by_name(&format!("number:{phone_number_id}"))?;
    rpc::post(&stub, "ledger", &call.into_request()).await
}

/// A ledger operation: its call type, and the type it is answered with.
pub trait LedgerCall: Serialize {
    type Reply: Serialize + DeserializeOwned;
    fn into_request(self) -> LedgerRequest;
}

/// Asks the ledger of `shop`.
pub async fn ask<C: LedgerCall>(env: &Env, shop: &ShopDomain, call: C) -> Result<C::Reply> {
    let stub = env.durable_object("SHOP")?.get_by_name(shop.as_str())?;
    rpc::post(&stub, "ledger", &call.into_request()).await
}

/// Whether `op` is `variant` in serde's `snake_case` (`ConnectWhatsApp`: `connect_whats_app`).
fn names(op: &str, variant: &str) -> bool {
    let snake = variant.char_indices().flat_map(|(i, c)| {
        let underscore = (i > 0 && c.is_ascii_uppercase()).then_some('_');
        underscore.into_iter().chain([c.to_ascii_lowercase()])
    });
    snake.eq(op.chars())
}

macro_rules! ledger_calls {
    ($($(#[$doc:meta])* $variant:ident($call:ty) -> $reply:ty;)*) => {
        /// Every operation of the shop ledger.
        #[derive(Serialize)]
        #[serde(tag = "op", content = "call", rename_all = "snake_case")]
        pub enum LedgerRequest {
            $($(#[$doc])* $variant($call),)*
        }

        /// The form serde derives (`{"op": …, "call": …}`, in either order), read without
        /// buffering `call` into serde's generic content first: the op names the call's type
        /// before the call is parsed, which spares the Worker a second decoder for every call
        /// type. JSON only (the ledger reads its requests with serde_json).
        impl<'de> Deserialize<'de> for LedgerRequest {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                use serde::de::Error;
                #[derive(Deserialize)]
                struct Envelope {
                    op: String,
                    call: Box<serde_json::value::RawValue>,
                }
                let Envelope { op, call } = Envelope::deserialize(d)?;
                $(if names(&op, stringify!($variant)) {
                    return serde_json::from_str(call.get())
                        .map(LedgerRequest::$variant)
                        .map_err(D::Error::custom);
                })*
                Err(D::Error::unknown_variant(&op, &[]))
            }
        }

        $(impl LedgerCall for $call {
            type Reply = $reply;
            fn into_request(self) -> LedgerRequest {
                LedgerRequest::$variant(self)
            }
        })*
    };
}

ledger_calls! {
    // The shop's record (Shopify grant, WhatsApp connection, playbook): the ledger is its one
    // writer, so no stale copy can undo a change or resurrect a token.

    /// Hold an offline Admin API token (swapping the session token or code when none usable is
    /// held), and learn the shop's name, currency and time zone.
    Install(Install) -> Result<(), AdminError>;
    /// A live Admin API token, sealed: renewed first when it is due, or when `rejected` is the
    /// one held (Shopify answered it with 401). One renewal at a time per shop.
    AdminToken(AdminToken) -> Result<String, AdminError>;
    /// The record as the ledger holds it (the Shopify grant sealed).
    ShopState(ShopState) -> ShopRecord;
    ConnectWhatsApp(ConnectWhatsApp) -> ();
    /// Meta refused this sealed WhatsApp token (190): sending stops until a reconnect.
    PauseWhatsApp(PauseWhatsApp) -> ();
    PutPlaybook(PutPlaybook) -> ();

    /// May this step go now? Consent, suppression, caps and a pacing slot, in one run; with
    /// the endpoint its template goes to, so the send needs no call of its own.
    Gate(GateCall) -> GateAnswer;
    /// What happened in a cart, and how its journey looks now; with a journey just begun, its
    /// index entry (for lookups, opt-outs, redaction and metrics) comes first. Answers the
    /// pacing slot its next step now holds.
    Report(Report) -> Option<HeldSlot>;
    /// The checkout `checkouts/delete` names.
    FindDeleted(FindDeleted) -> Owner;
    /// Every running journey of a cart (each checkout the shopper started from it).
    ActiveOfCart(ActiveOfCart) -> Checkouts;
    /// Appends a record; answers what the phone's records add up to now.
    AddConsent(AddConsent) -> ConsentStatus;
    Consents(ConsentsOf) -> Vec<ConsentRecord>;
    Journeys(JourneysQuery) -> Vec<Summary>;
    /// A delivery of Meta's webhook for this shop's number (or a number no shop has
    /// connected): shoppers' messages and preferences first, so an opt-out is on the ledger
    /// before anything else is looked at, then statuses. What carts must hear and the replies
    /// to send go to the outbox, so a delivery of any size is taken in one call.
    Deliveries(Deliveries) -> ();
    /// The storefront opt-in's rate limits.
    OptInAllowed(OptInCall) -> bool;
    Faq(GetFaq) -> Faq;
    PutFaq(PutFaq) -> Faq;
    Inbox(GetInbox) -> Inbox;
    Resolve(Resolve) -> Resolved;
    /// `app/uninstalled`: the tokens go and every running journey ends. Answers whether it
    /// acted: one triggered before the shop's latest installation changes nothing.
    Uninstall(Uninstall) -> bool;
    /// `customers/redact`: the customer's rows go, their carts are erased.
    Redact(Redact) -> Checkouts;
    /// `customers/data_request`: what the ledger holds about the customer.
    DataRequest(DataRequest) -> DataReport;
    Metrics(MetricsQuery) -> serde_json::Value;
    /// A web vital the admin page reported.
    RecordVital(RecordVital) -> ();
    /// Whether the merchant may answer this shopper from the inbox now.
    ReplyTarget(ReplyTarget) -> ReplyWindow;
    /// Has this Shopify event (`X-Shopify-Event-Id`) been handled?
    EventSeen(EventSeen) -> bool;
    RememberEvent(RememberEvent) -> ();
    /// `shop/redact`: every row goes, every cart is erased, then the ledger wipes itself.
    Erase(EraseShop) -> Checkouts;
    /// An unconnected number's ledger: the consent records it kept.
    KeptConsents(KeptConsents) -> Vec<HashedConsent>;
    /// An unconnected number's ledger forgets what a shop has adopted, and who it went to.
    ForgetKept(ForgetKept) -> Vec<HashedConsent>;
    /// A shop takes over the records kept for a number it has just connected.
    AdoptConsents(AdoptConsents) -> ();
    /// Which endpoint a template goes to now (docs/rules.md §1, rule 11).
    Route(RouteCall) -> Endpoint;
    /// What a refusal taught about a number and the Marketing Messages API.
    RememberOnboarding(RememberOnboarding) -> ();
    /// The WABA's templates as Graph listed them.
    PutTemplates(PutTemplates) -> ();
    /// The templates as last listed (and changed by webhooks since).
    GetTemplates(GetTemplates) -> KeptTemplates;
    /// A status or category change Meta's template webhooks reported.
    TemplateChanged(TemplateUpdate) -> ();
    /// What the optimizer has learned, settled and pending, as a new journey's choice reads it.
    Learned(GetLearning) -> Learning;
    /// The merchant starts the optimizer over: every trial and tally goes.
    ResetLearning(ResetLearning) -> ();
    /// The merchant's price table (the shipped one until they save theirs).
    Prices(GetPrices) -> crate::core::costs::PriceTable;
    PutPrices(PutPrices) -> crate::core::costs::PriceTable;
    /// The reconciliation sweep of the shop (a Cron Trigger asks every shop's ledger): the
    /// checkouts Shopify lists as abandoned lately become journeys if their webhooks never came.
    Sweep(SweepCall) -> SweepReport;
    /// A variant's image as last looked up, while fresh; `None` when Shopify must be asked.
    VariantImage(VariantImage) -> Option<KeptImage>;
    /// What Shopify answered about a variant's image.
    RememberImage(RememberImage) -> ();
}

/// A cart's report after each event: what happened, and how the journey looks now.
#[derive(Serialize, Deserialize)]
pub struct Report {
    /// Until the ledger has indexed the journey once.
    #[serde(default)]
    pub registration: Option<Box<Registration>>,
    pub checkout_token: CheckoutToken,
    pub facts: Vec<Fact>,
    pub at: Millis,
    /// The journey as `GET /api/journeys` shows it; sealed at rest.
    pub summary: Option<Summary>,
    /// The journey's next step moved: its pacing slot to hold, or to give up.
    #[serde(default)]
    pub slot: Option<SlotCall>,
}

/// A change to a journey's held pacing slot, on the calendar of the number it sends from.
#[derive(Serialize, Deserialize)]
pub struct SlotCall {
    pub change: SlotChange,
    pub phone_number_id: String,
    pub per_second: u32,
}

#[derive(Serialize, Deserialize)]
pub struct GateCall {
    pub request: GateRequest,
    pub phone: Phone,
    pub mode: ConsentMode,
    pub caps: Option<Caps>,
    pub phone_number_id: String,
    pub per_second: u32,
}

#[derive(Serialize, Deserialize)]
pub struct GateAnswer {
    pub verdict: GateVerdict,
    /// Where the step's template goes, when it was granted (`Route`).
    pub endpoint: Option<Endpoint>,
}

#[derive(Serialize, Deserialize)]
pub struct StatusCall {
    pub wamid: Wamid,
    pub delivery: Delivery,
    pub at: Millis,
}

/// Which cart something belongs to, when the ledger knows.
#[derive(Serialize, Deserialize)]
pub struct Owner {
    pub checkout_token: Option<CheckoutToken>,
}

/// A checkout by the numeric id older `checkouts/delete` payloads name it by.
#[derive(Serialize, Deserialize)]
pub struct FindDeleted {
    pub checkout_id: String,
}

#[derive(Serialize, Deserialize)]
pub struct ActiveOfCart {
    pub cart_token: String,
}

#[derive(Serialize, Deserialize)]
pub struct AddConsent {
    pub phone: Phone,
    pub record: ConsentRecord,
}

#[derive(Serialize, Deserialize)]
pub struct ConsentsOf {
    pub phone: Phone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyFilter {
    Active,
    Ended,
    All,
}

#[derive(Serialize, Deserialize)]
pub struct JourneysQuery {
    pub status: JourneyFilter,
}

#[derive(Serialize, Deserialize)]
pub struct Deliveries {
    /// `None` for a number no shop has connected: only the consent its messages carry is kept.
    pub shop: Option<ShopDomain>,
    pub events: Vec<InboundEvent>,
    pub app_url: String,
}

/// A shopper's message or marketing preference, with where our links point.
#[derive(Serialize, Deserialize)]
pub struct InboundCall {
    pub event: InboundEvent,
    pub app_url: String,
    /// Sent to a number no shop has connected: only the consent it carries is kept.
    #[serde(default)]
    pub unconnected: bool,
}

/// What the Worker must do about an inbound event: tell these carts, send this reply.
#[derive(Serialize, Deserialize, Default)]
pub struct InboundPlan {
    pub signal: Option<ShopperSignal>,
    pub journeys: Vec<CheckoutToken>,
    pub reply: Option<Reply>,
}

#[derive(Serialize, Deserialize)]
pub struct OptInCall {
    pub client: String,
    pub phone: Phone,
    pub now: Millis,
}

#[derive(Serialize, Deserialize)]
pub struct GetFaq;

#[derive(Serialize, Deserialize)]
pub struct PutFaq {
    pub faq: Faq,
}

#[derive(Serialize, Deserialize)]
pub struct GetInbox;

/// `GET /api/inbox`: shoppers waiting for a person.
#[derive(Serialize, Deserialize)]
pub struct Inbox {
    pub conversations: Vec<Conversation>,
}

#[derive(Serialize, Deserialize)]
pub struct Conversation {
    pub phone: String,
    pub name: Option<String>,
    pub last_message: String,
    pub since: String,
    /// When the 24-hour window for a free-form answer closes; `None` once it has.
    pub window_closes_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Resolve {
    pub phone: Phone,
}

#[derive(Serialize, Deserialize)]
pub struct Resolved {
    pub resolved: bool,
}

/// A customer to erase or report on: by Shopify customer id and by phone.
#[derive(Clone, Serialize, Deserialize)]
pub struct Customer {
    pub customer_id: Option<String>,
    pub phone: Option<Phone>,
}

#[derive(Serialize, Deserialize)]
pub struct Uninstall {
    pub shop: ShopDomain,
    /// `X-Shopify-Triggered-At`.
    pub triggered_at: Option<Millis>,
}

/// How the merchant proves the shop grants access.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallGrant {
    /// An App Bridge session token (managed installation): swapped only when no usable token
    /// is held.
    SessionToken(String),
    /// The authorization-code callback's `code`: always swapped.
    Code(String),
}

#[derive(Serialize, Deserialize)]
pub struct Install {
    pub shop: ShopDomain,
    pub grant: InstallGrant,
}

#[derive(Serialize, Deserialize)]
pub struct AdminToken {
    pub shop: ShopDomain,
    /// The sealed token Shopify just refused.
    pub rejected: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct ShopState {
    pub shop: ShopDomain,
}

/// Checked credentials of a WhatsApp number (`PUT /api/whatsapp`); the ledger seals the token.
#[derive(Serialize, Deserialize)]
pub struct ConnectWhatsApp {
    pub shop: ShopDomain,
    pub phone_number_id: String,
    pub waba_id: String,
    pub access_token: String,
    pub messages_per_second: Option<u32>,
    pub display_number: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct PauseWhatsApp {
    pub shop: ShopDomain,
    pub sealed_token: String,
}

#[derive(Serialize, Deserialize)]
pub struct PutPlaybook {
    pub shop: ShopDomain,
    pub playbook: Playbook,
}

#[derive(Serialize, Deserialize)]
pub struct Redact {
    pub shop: ShopDomain,
    pub customer: Customer,
}

#[derive(Serialize, Deserialize)]
pub struct DataRequest {
    pub customer: Customer,
}

/// What the ledger holds about a customer.
#[derive(Serialize, Deserialize)]
pub struct DataReport {
    pub phone: Option<String>,
    pub consents: Vec<ConsentRecord>,
    pub journeys: Vec<Summary>,
}

#[derive(Serialize, Deserialize)]
pub struct EraseShop {
    pub shop: ShopDomain,
}

#[derive(Serialize, Deserialize)]
pub struct KeptConsents;

/// The number is now `shop`'s: the kept records are forgotten, and those that arrived after
/// the last one `KeptConsents` handed over (`up_to`) are answered, for the shop to adopt; for a
/// few minutes what still reaches this ledger (KV's route to the shop may lag behind in other
/// locations) is passed on to `shop`.
#[derive(Serialize, Deserialize)]
pub struct ForgetKept {
    pub up_to: Option<i64>,
    pub shop: ShopDomain,
}

/// A consent record with the keyed hash of its phone: how records move between ledgers
/// without the phone itself.
#[derive(Clone, Serialize, Deserialize)]
pub struct HashedConsent {
    pub id: i64,
    pub phone_hash: String,
    pub record: ConsentRecord,
}

#[derive(Serialize, Deserialize)]
pub struct AdoptConsents {
    pub records: Vec<HashedConsent>,
}

/// The carts an operation touched.
#[derive(Serialize, Deserialize, Default)]
pub struct Checkouts {
    pub checkout_tokens: Vec<CheckoutToken>,
}

/// `GET /api/metrics`: journeys started in `[from, to)`, broken down by `by`.
#[derive(Serialize, Deserialize)]
pub struct MetricsQuery {
    pub from: Millis,
    pub to: Millis,
    pub by: Option<MetricsBy>,
}

#[derive(Serialize, Deserialize)]
pub struct RecordVital {
    pub name: String,
    pub value: f64,
}

#[derive(Serialize, Deserialize)]
pub struct ReplyTarget {
    pub phone: Phone,
}

/// A shopper's conversation as the inbox's reply needs it.
#[derive(Serialize, Deserialize)]
pub struct ReplyWindow {
    /// The conversation waits in the inbox for a person.
    pub waiting: bool,
    /// The shopper's last message, from which the 24-hour window runs.
    pub last_inbound: Option<Millis>,
    /// The shopper opted out: nothing more goes to them, not even from a person.
    pub opted_out: bool,
}

/// A Shopify event, by its `X-Shopify-Event-Id`.
#[derive(Serialize, Deserialize)]
pub struct EventSeen {
    pub id: String,
}

#[derive(Serialize, Deserialize)]
pub struct RememberEvent {
    pub id: String,
}

// ---- WhatsApp templates and their route ----

/// A template about to be sent from `phone_number_id`.
#[derive(Serialize, Deserialize)]
pub struct RouteCall {
    pub phone_number_id: String,
    pub template: String,
    pub language: String,
}

#[derive(Serialize, Deserialize)]
pub struct RememberOnboarding {
    pub phone_number_id: String,
    pub onboarding: Onboarding,
}

#[derive(Serialize, Deserialize)]
pub struct PutTemplates {
    pub templates: Vec<TemplateInfo>,
}

#[derive(Serialize, Deserialize)]
pub struct GetTemplates;

#[derive(Serialize, Deserialize)]
pub struct KeptTemplates {
    pub templates: Vec<TemplateInfo>,
    pub listed_at: Option<Millis>,
}
#[derive(Serialize, Deserialize)]
pub struct GetLearning;

#[derive(Serialize, Deserialize)]
pub struct ResetLearning;

#[derive(Serialize, Deserialize)]
pub struct GetPrices;

#[derive(Serialize, Deserialize)]
pub struct PutPrices {
    pub prices: crate::core::costs::PriceTable,
}

#[derive(Serialize, Deserialize)]
pub struct VariantImage {
    pub variant_id: String,
}

/// A kept lookup (`url: None`: the variant has no image), apart from none kept at all, which a
/// bare `Option<Option<_>>` would not tell in JSON.
#[derive(Serialize, Deserialize)]
pub struct KeptImage {
    pub url: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct RememberImage {
    pub variant_id: String,
    pub url: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct SweepCall {
    pub shop: ShopDomain,
}

/// What one sweep of a shop did.
#[derive(Serialize, Deserialize, Default, Debug)]
pub struct SweepReport {
    /// Abandoned checkouts Shopify listed.
    pub found: u32,
    /// Journeys they started (none for those the webhooks had already brought).
    pub started: u32,
    /// Listed checkouts that cannot be matched to a cart (no token in their recovery URL).
    pub unusable: u32,
    /// Why the run stopped before the end of its window, if it did; the next run resumes.
    pub stopped: Option<String>,
}
