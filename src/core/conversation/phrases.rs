//! The phrase tables keywords are matched against, all folded (lower case, no accents;
//! "msg" stands for any word for message).

use super::{Lang, Table};

/// Opt-out phrases; `None` marks the ones every language uses.
#[rustfmt::skip]
pub(super) const OPT_OUT: Table = &[
    (None, &["stop", "stop msg", "stop all", "stopall", "unsubscribe"]),
    (
        Some(Lang::En),
        &[
            "stop all msg", "stop messaging", "stop messaging me", "stop texting",
            "stop texting me", "stop sending", "stop sending msg", "stop sending me",
            "stop sending me msg", "stop it", "quit it", "stop this", "stop sending this",
            "stop sending me this", "stop sending these", "stop contacting me", "remove my number",
            "delete my number", "remove my number from your list", "unsubscribe me", "unsub",
            "opt out", "optout", "opt me out", "cancel", "end", "quit", "no more",
            "no more msg", "remove me", "remove me from your list", "remove me from the list",
            "take me off", "take me off your list", "take me off the list", "don t msg me",
            "do not msg me", "don t contact me", "do not contact me", "leave me alone",
        ],
    ),
    (
        Some(Lang::Pt),
        &[
            "parar", "pare", "para", "sair", "cancelar", "descadastrar", "descadastrar me",
            "me descadastrar", "me descadastre", "me descadastra", "descadastre me", "remover",
            "me remova", "me remove", "me tire da lista", "me tira da lista", "remover meu numero",
            "remova meu numero", "apague meu numero", "nao quero mais",
            "nao quero mais msg", "nao quero receber mais msg", "nao quero receber msg",
            "nao envie mais msg", "nao me envie mais msg", "nao mande mais msg",
            "nao me mande mais msg", "pare de enviar msg", "pare de me enviar msg",
            "pare de mandar msg", "pare de me mandar msg", "para de mandar msg",
            "para de me mandar msg", "chega", "chega de msg", "sem mais msg",
        ],
    ),
    (
        Some(Lang::Es),
        &[
            "baja", "dar de baja", "darme de baja", "de baja", "me doy de baja", "parar",
            "para", "pare", "alto", "basta", "cancelar", "salir", "desuscribir",
            "desuscribirme", "desuscribirse", "desinscribir", "desinscribirme",
            "anular suscripcion", "cancelar suscripcion", "no mas", "no mas msg",
            "no quiero mas", "no quiero mas msg", "no quiero recibir mas msg",
            "no quiero recibir msg", "deja de enviar msg", "deja de enviarme msg",
            "dejen de enviar msg", "dejen de enviarme msg", "no me envies mas msg",
            "no me envien mas msg", "no me manden mas msg", "eliminame de la lista",
            "sacame de la lista", "eliminar mi numero", "elimina mi numero", "borra mi numero",
        ],
    ),
    (
        Some(Lang::Fr),
        &[
            "arret", "arrete", "arreter", "arretez", "arretez les msg",
            "arretez d envoyer des msg", "arretez de m envoyer des msg", "desabonner",
            "me desabonner", "desabonnement", "desabonnez moi", "desinscrire",
            "me desinscrire", "desinscription", "desinscrivez moi", "plus de msg",
            "je ne veux plus de msg", "je ne veux plus recevoir de msg",
            "ne plus recevoir de msg", "annuler",
        ],
    ),
    (
        Some(Lang::De),
        &[
            "stopp", "abmelden", "mich abmelden", "abmeldung", "abbestellen", "austragen",
            "mich austragen", "keine msg mehr", "keine weiteren msg", "aufhoren", "hor auf",
            "horen sie auf", "beenden", "kundigen",
        ],
    ),
];

#[rustfmt::skip]
pub(super) const OPT_IN: Table = &[
    (None, &["start", "unstop"]),
    (
        Some(Lang::En),
        &["subscribe", "subscribe me", "resume", "opt in", "optin", "opt me in", "start again"],
    ),
    (
        Some(Lang::Pt),
        &["voltar", "assinar", "inscrever", "reativar", "comecar", "voltar a receber"],
    ),
    (
        Some(Lang::Es),
        &["alta", "darme de alta", "dar de alta", "suscribir", "suscribirme", "reanudar", "iniciar"],
    ),
    (
        Some(Lang::Fr),
        &["reprendre", "abonner", "m abonner", "me reabonner", "reabonner"],
    ),
    (Some(Lang::De), &["anmelden", "wieder anmelden", "starten", "fortsetzen"]),
];

#[rustfmt::skip]
pub(super) const NOT_INTERESTED_PHRASES: Table = &[
    (
        Some(Lang::En),
        &["not interested", "im not interested", "i m not interested", "i am not interested", "no interest"],
    ),
    (
        Some(Lang::Pt),
        &[
            "nao tenho interesse", "sem interesse", "nao estou interessado",
            "nao estou interessada", "nao me interessa",
        ],
    ),
    (
        Some(Lang::Es),
        &["no me interesa", "no estoy interesado", "no estoy interesada", "sin interes"],
    ),
    (
        Some(Lang::Fr),
        &[
            "pas interesse", "pas interessee", "je ne suis pas interesse",
            "je ne suis pas interessee", "ca ne m interesse pas",
        ],
    ),
    (
        Some(Lang::De),
        &["kein interesse", "nicht interessiert", "ich habe kein interesse"],
    ),
];

/// A bare request for a person, as a whole message.
#[rustfmt::skip]
pub(super) const HUMAN_PHRASES: Table = &[
    (
        Some(Lang::En),
        &[
            "human", "a human", "real person", "a real person", "person", "a person", "agent",
            "an agent", "live agent", "representative", "a representative", "operator",
            "customer service", "customer support", "support", "live chat",
        ],
    ),
    (
        Some(Lang::Pt),
        &[
            "humano", "um humano", "atendente", "um atendente", "pessoa", "uma pessoa",
            "pessoa real", "atendimento", "atendimento humano", "suporte", "agente", "operador",
        ],
    ),
    (
        Some(Lang::Es),
        &[
            "humano", "un humano", "agente", "un agente", "persona", "una persona",
            "persona real", "asesor", "un asesor", "operador", "atencion al cliente",
            "servicio al cliente", "soporte",
        ],
    ),
    (
        Some(Lang::Fr),
        &[
            "humain", "un humain", "conseiller", "un conseiller", "agent", "un agent",
            "service client", "une personne", "personne reelle", "operateur",
        ],
    ),
    (
        Some(Lang::De),
        &["mensch", "ein mensch", "mitarbeiter", "kundenservice", "kundendienst", "berater", "support"],
    ),
];

/// Trimmed from both ends of a message before keywords are compared.
#[rustfmt::skip]
pub(super) const COURTESY: &[&str] = &[
    "please", "pls", "plz", "thanks", "thank you", "thx", "ty", "ok", "okay", "hi", "hello", "hey",
    "now", "right now", "por favor", "porfavor", "pfv", "pf", "obrigado", "obrigada", "valeu",
    "oi", "ola", "bom dia", "boa tarde", "boa noite", "agora", "ja", "gracias", "hola",
    "buenos dias", "buenas tardes", "buenas noches", "ahora", "ya", "merci", "s il vous plait",
    "s il te plait", "svp", "stp", "bonjour", "bonsoir", "salut", "maintenant", "bitte", "danke",
    "danke schon", "hallo", "guten tag", "jetzt", "sofort",
];

/// One of these may open a keyword message ("I want to unsubscribe", "quero sair").
#[rustfmt::skip]
pub(super) const LEAD_INS: &[&str] = &[
    "i want to", "i wanna", "i would like to", "i d like to", "id like to", "i wish to",
    "can you", "could you", "would you", "quero", "eu quero", "queria", "eu queria",
    "gostaria de", "eu gostaria de", "quiero", "yo quiero", "quisiera", "me gustaria",
    "je veux", "je voudrais", "ich mochte", "ich moechte", "ich will",
];

#[rustfmt::skip]
pub(super) const CONTACT_VERBS: &[&str] = &[
    "talk", "speak", "chat", "contact", "connect", "transfer", "reach", "call", "falar", "fala",
    "fale", "conversar", "chamar", "contatar", "contactar", "transferir", "hablar",
    "comunicarme", "comunicar", "pasame", "pasar", "parler", "discuter", "contacter",
    "joindre", "appeler", "transferer", "sprechen", "reden", "chatten", "kontaktieren",
    "verbinden", "erreichen",
];

/// Verbs that ask for a person only when one is named right after them.
#[rustfmt::skip]
pub(super) const WANT_VERBS: &[&str] = &[
    "want", "need", "get", "quero", "queria", "preciso", "gostaria", "quiero", "necesito",
    "quisiera", "veux", "voudrais", "besoin", "mochte", "moechte", "brauche", "will",
];

#[rustfmt::skip]
pub(super) const PERSON_NOUNS: &[&str] = &[
    "human", "humans", "person", "agent", "agents", "representative", "rep", "operator",
    "someone", "somebody", "staff", "employee", "manager", "support", "humano", "pessoa",
    "atendente", "agente", "operador", "alguem", "funcionario", "vendedor", "vendedora",
    "suporte", "atendimento", "gerente", "persona", "asesor", "asesora", "alguien",
    "representante", "ejecutivo", "encargado", "soporte", "humain", "personne", "conseiller",
    "conseillere", "quelqu", "operateur", "vendeur", "responsable", "mensch", "menschen",
    "mitarbeiter", "mitarbeiterin", "berater", "beraterin", "jemand", "jemandem",
    "kundenservice", "kundendienst",
];

/// A clause with one of these is not a request ("I don't need to talk to anyone").
/// English contractions arrive split ("don't" is `don` `t`), so their first halves are here.
#[rustfmt::skip]
pub(super) const NEGATIONS: &[&str] = &[
    "not", "no", "never", "don", "dont", "doesn", "didn", "won", "wont", "isn", "aren", "wouldn",
    "nao", "nunca", "nem", "ni", "ne", "n", "pas", "jamais", "nicht", "kein", "keine", "keinen",
    "keinem", "nie",
];

/// Letters that point at one language.
pub(super) const MARKER_LETTERS: &[(char, Lang)] = &[
    ('ã', Lang::Pt),
    ('õ', Lang::Pt),
    ('ñ', Lang::Es),
    ('¿', Lang::Es),
    ('¡', Lang::Es),
    ('ß', Lang::De),
    ('ä', Lang::De),
    ('ö', Lang::De),
    ('ü', Lang::De),
    ('œ', Lang::Fr),
    ('è', Lang::Fr),
    ('ù', Lang::Fr),
];

/// Function, courtesy and question-framing words ("I wanted to know if ..."): dropped for FAQ
/// matching, since they say nothing about the topic, and evidence of a language when only one
/// list has them.
#[rustfmt::skip]
pub(super) const FUNCTION_WORDS: &[(Lang, &[&str])] = &[
    (
        Lang::En,
        &[
            "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for",
            "from", "with", "by", "about", "as", "into", "is", "are", "was", "were", "be", "been",
            "am", "do", "does", "did", "have", "has", "had", "i", "me", "my", "we", "our", "you",
            "your", "it", "its", "this", "that", "these", "those", "there", "what", "which",
            "who", "when", "where", "why", "how", "can", "could", "will", "would", "should",
            "may", "might", "any", "some", "much", "many", "also", "just", "so", "than", "then",
            "too", "very", "please", "thanks", "thank", "hi", "hello", "hey", "yes", "no", "not",
            "ll", "re", "ve", "don", "doesn", "didn", "isn", "aren", "won", "want", "wanted",
            "wanna", "know", "like", "wondering", "wonder", "question", "quick", "tell", "ask",
            "asking", "let", "need", "get",
        ],
    ),
    (
        Lang::Pt,
        &[
            "a", "o", "os", "as", "um", "uma", "uns", "umas", "de", "do", "da", "dos", "das",
            "em", "no", "na", "nos", "nas", "por", "para", "pra", "com", "sem", "e", "ou", "mas",
            "se", "que", "qual", "quais", "quando", "onde", "como", "quanto", "quanta", "eu",
            "voce", "voces", "vc", "vcs", "ele", "ela", "meu", "minha", "meus", "minhas", "seu",
            "sua", "seus", "suas", "esse", "essa", "este", "esta", "isso", "isto", "sao",
            "estao", "tem", "tenho", "temos", "ha", "foi", "vai", "vao", "pode", "posso",
            "podem", "nao", "sim", "ja", "mais", "muito", "tambem", "ola", "oi", "obrigado",
            "obrigada", "favor", "me", "quero", "queria", "saber", "gostaria", "pergunta",
            "duvida", "dizer", "preciso", "bom", "dia", "tarde",
        ],
    ),
    (
        Lang::Es,
        &[
            "el", "la", "los", "las", "un", "una", "unos", "unas", "de", "del", "al", "en",
            "con", "sin", "por", "para", "y", "o", "pero", "si", "que", "cual", "cuales",
            "cuando", "donde", "como", "cuanto", "cuanta", "yo", "tu", "usted", "ustedes",
            "ella", "nosotros", "mi", "mis", "su", "sus", "este", "esta", "estos", "estas",
            "ese", "esa", "eso", "es", "son", "estan", "hay", "tiene", "tienen", "tengo",
            "puedo", "puede", "pueden", "no", "ya", "mas", "muy", "tambien", "hola", "gracias",
            "favor", "me", "te", "se", "lo", "le", "les", "quiero", "queria", "saber", "gustaria",
            "pregunta", "duda", "decir", "necesito", "buenos", "buenas", "dias",
        ],
    ),
    (
        Lang::Fr,
        &[
            "a", "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "en",
            "dans", "sur", "avec", "sans", "pour", "par", "et", "ou", "mais", "si", "que", "qui",
            "quoi", "quel", "quelle", "quels", "quelles", "quand", "comment", "combien", "je",
            "j", "tu", "vous", "il", "elle", "nous", "on", "ils", "elles", "mon", "ma", "mes",
            "ton", "votre", "vos", "son", "sa", "ses", "ce", "cet", "cette", "ces", "c", "est",
            "sont", "suis", "etes", "avez", "ai", "ont", "peux", "peut", "pouvez", "ne", "n",
            "pas", "plus", "tres", "aussi", "bonjour", "salut", "merci", "svp", "qu", "y", "me",
            "m", "se", "s", "veux", "voudrais", "aimerais", "savoir", "question", "dire", "besoin",
        ],
    ),
    (
        Lang::De,
        &[
            "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer",
            "und", "oder", "aber", "wenn", "ob", "in", "im", "an", "am", "auf", "aus", "bei",
            "mit", "nach", "von", "vom", "zu", "zum", "zur", "fur", "uber", "ich", "du", "sie",
            "er", "es", "wir", "ihr", "mich", "mir", "dich", "dir", "uns", "mein", "meine",
            "meinen", "dein", "ihre", "ist", "sind", "bin", "bist", "seid", "hat", "habe",
            "haben", "habt", "kann", "kannst", "konnen", "wird", "werden", "was", "wer", "wann",
            "wo", "wie", "warum", "welche", "welcher", "nicht", "kein", "keine", "ja", "nein",
            "auch", "noch", "schon", "sehr", "bitte", "danke", "hallo", "mochte", "wissen", "frage",
            "sagen", "brauche", "gerne", "kurze",
        ],
    ),
];
